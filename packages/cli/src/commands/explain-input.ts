import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';

/**
 * The header section of a message, read from a file or standard input without holding the body:
 * reading stops at the blank line that ends the headers, so a message with a large attachment, or
 * a stream that never ends (`yes | relaylab explain -`), costs at most `limit` bytes.
 */
export const HEADER_SECTION_LIMIT = 4 * 1024 * 1024;

export class MessageInputError extends Error {}

/** Index just past the blank line ending the header section, or -1 when not yet seen. */
function headerEnd(buffer: Buffer, from: number): number {
  for (let i = Math.max(0, from - 3); i < buffer.length - 1; i++) {
    if (buffer[i] !== 0x0a) continue;
    if (buffer[i + 1] === 0x0a) return i + 2;
    if (buffer[i + 1] === 0x0d && buffer[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

/**
 * Text saved by Windows tools (Notepad's "Unicode", PowerShell 5.1's `>`) is UTF-16 with a byte
 * order mark; a header section is 7- or 8-bit text, so it is turned back into bytes one per
 * character. A UTF-8 byte order mark is dropped.
 */
export function withoutByteOrderMark(bytes: Buffer): Buffer {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return Buffer.from(bytes.subarray(2).toString('utf16le'), 'utf8');
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return Buffer.from(Buffer.from(bytes.subarray(2)).swap16().toString('utf16le'), 'utf8');
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return bytes.subarray(3);
  return bytes;
}

const isUtf16 = (b: Buffer) => (b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff);

/** Reads `stream` up to the end of the header section (or its end), then stops reading it. */
export async function readHeaderSection(stream: Readable, name: string, limit = HEADER_SECTION_LIMIT): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let buffer = Buffer.alloc(0);
  try {
    for await (const chunk of stream) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      chunks.push(bytes);
      const before = size;
      size += bytes.length;
      buffer = Buffer.concat(chunks, size);
      // UTF-16 has two bytes a character: its blank line is found after decoding, at the end.
      if (!isUtf16(buffer)) {
        const end = headerEnd(buffer, before);
        if (end >= 0) return withoutByteOrderMark(buffer.subarray(0, end));
      }
      if (size > limit)
        throw new MessageInputError(
          `${name}: no blank line ends the header section within its first ${limit / 1024 / 1024} MiB: is this a message (.eml), or its header section?`,
        );
    }
  } catch (e) {
    if (e instanceof MessageInputError) throw e;
    throw new MessageInputError(`${name}: ${(e as Error).message}`);
  } finally {
    stream.destroy();
  }
  const text = withoutByteOrderMark(buffer);
  const end = headerEnd(text, 0);
  return end >= 0 ? text.subarray(0, end) : text;
}

/** `-` is standard input; anything else a file. */
export function readMessageHeaders(source: string, stdin: Readable): Promise<Buffer> {
  if (source === '-') return readHeaderSection(stdin, 'standard input');
  return readHeaderSection(createReadStream(source), source);
}
