import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MailNode, StoredMessage } from '@relaylab/mta';

const safe = (s: string) => s.replace(/[<>]/g, '').replace(/[^A-Za-z0-9@._+-]+/g, '_').slice(0, 120);

/** `<dir>/<mailbox>/<time>-<message-id>.eml`: the bytes exactly as the last hop stored them. */
export function writeMailboxMessage(dir: string, m: StoredMessage): string {
  const folder = join(dir, safe(m.recipient.toLowerCase()));
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `${m.deliveredAt.toISOString().replace(/[:.]/g, '-')}-${safe(m.messageId)}.eml`);
  writeFileSync(file, m.raw);
  return file;
}

/**
 * What a node still holds for delivery, written at shutdown as `<dir>/<node>/<id>.eml` plus a
 * `.json` with envelope, next hop and last error, so stopping a lab never silently drops mail.
 */
export function writeSpool(dir: string, node: MailNode): string[] {
  const items = node.queue.pending();
  if (!items.length) return [];
  const folder = join(dir, safe(node.name));
  mkdirSync(folder, { recursive: true });
  return items.map((item) => {
    const base = join(folder, safe(item.id));
    writeFileSync(`${base}.eml`, item.raw);
    const { raw: _raw, ...meta } = item;
    writeFileSync(`${base}.json`, `${JSON.stringify(meta, null, 2)}\n`);
    return `${base}.eml`;
  });
}
