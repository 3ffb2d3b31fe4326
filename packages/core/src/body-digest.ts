import { createHash } from 'node:crypto';
import { headerEnd } from './headers';

/**
 * SHA-256 (hex) of a message's body: every byte after the blank line that ends the header
 * section. Nodes only prepend or remove header fields, so a body that changed on the way (a lost
 * dot, a rewrapped long line, 8-bit bytes mangled) shows as a different digest.
 */
export function bodySha256(raw: Buffer): string {
  return createHash('sha256')
    .update(raw.subarray(headerEnd(raw)))
    .digest('hex');
}
