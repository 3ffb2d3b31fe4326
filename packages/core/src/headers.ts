/**
 * Reading and prepending header fields on raw message bytes. The body is never touched: a
 * message is split once at the first empty line and edits only ever add or drop whole fields.
 */

export interface HeaderField {
  name: string;
  value: string;
}

export function headerEnd(raw: Buffer): number {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 2;
  if (lf >= 0) return lf + 1;
  return raw.length;
}

export function parseHeaders(raw: Buffer): HeaderField[] {
  const text = raw.subarray(0, headerEnd(raw)).toString('latin1');
  const fields: HeaderField[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    if (/^[ \t]/.test(line) && fields.length) {
      fields[fields.length - 1].value += '\r\n' + line;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push({ name: line.slice(0, colon), value: line.slice(colon + 1).replace(/^ /, '') });
  }
  return fields;
}

/** Unfolded values of a header field, case-insensitive name. */
export function headerValues(raw: Buffer, name: string): string[] {
  const lower = name.toLowerCase();
  return parseHeaders(raw)
    .filter((f) => f.name.toLowerCase() === lower)
    .map((f) => f.value.replace(/\r?\n[ \t]+/g, ' ').trim());
}

export function prependHeader(raw: Buffer, name: string, value: string): Buffer {
  if (/[\r\n:]/.test(name) || /\r?\n(?![ \t])|\r(?!\n)/.test(value)) throw new Error(`header ${name} would inject a line break`);
  return Buffer.concat([Buffer.from(`${name}: ${value.replace(/\r?\n/g, '\r\n')}\r\n`, 'latin1'), raw]);
}

export function messageIdOf(raw: Buffer): string | undefined {
  return headerValues(raw, 'message-id')[0];
}
