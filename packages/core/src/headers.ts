/**
 * The one reading of a message's header section. Every header read (the firewall, promotion,
 * rules, classification, assertions on delivered bytes) and every header edit acts on this parse,
 * so what a policy step removes is exactly what any reader would have seen.
 *
 * It reads as a lenient reader does (RFC 5322 §3.2.2 unfolding, §4.5.x obsolete syntax):
 * - a line ends at LF, with or without the CR before it; a bare CR is content, not a line end
 *   (as Postfix and MIME parsers read it);
 * - a field is a line plus the lines after it that start with a space or tab (folding), unfolded
 *   before the colon is looked for, so a fold before the colon or inside the name is still read;
 * - the name is everything before the first colon, without the whitespace before the colon
 *   (`obs-optional`: `Name : value` is the field `Name`); names compare ASCII case-insensitively;
 * - a line without a colon is skipped, and does not end the header section: only an empty line
 *   (LF or CRLF alone) does;
 * - every occurrence counts: duplicates are all read and all edited.
 * The body is never touched: edits cut or prepend whole fields inside the header section only.
 */

export interface HeaderField {
  name: string;
  /** As written after the colon (leading whitespace dropped), folds kept as CRLF + whitespace. */
  value: string;
}

/** A field and the bytes it occupies, `[start, end)`, its folded lines and their line ends. */
export interface LocatedField extends HeaderField {
  start: number;
  end: number;
}

interface Line {
  start: number;
  /** Where the line's content ends (before CR LF or LF). */
  contentEnd: number;
  /** After the line end. */
  end: number;
}

function linesOf(raw: Buffer, limit: number): Line[] {
  const lines: Line[] = [];
  for (let start = 0; start < limit;) {
    const lf = raw.indexOf(0x0a, start);
    const ended = lf >= 0 && lf < limit;
    const end = ended ? lf + 1 : limit;
    const contentEnd = ended && lf > start && raw[lf - 1] === 0x0d ? lf - 1 : ended ? lf : limit;
    lines.push({ start, contentEnd, end });
    start = end;
  }
  return lines;
}

const isWsp = (byte: number | undefined) => byte === 0x20 || byte === 0x09;

/** Offset of the body: just after the first empty line, or the end when there is none. */
export function headerEnd(raw: Buffer): number {
  let start = 0;
  while (start < raw.length) {
    const lf = raw.indexOf(0x0a, start);
    if (lf < 0) return raw.length;
    const empty = lf === start || (lf === start + 1 && raw[start] === 0x0d);
    if (empty) return lf + 1;
    start = lf + 1;
  }
  return raw.length;
}

/** Every field of the header section with its place in the bytes, in order. */
export function locateHeaders(raw: Buffer): LocatedField[] {
  const end = headerEnd(raw);
  const lines = linesOf(raw, end);
  const fields: LocatedField[] = [];
  let i = 0;
  while (i < lines.length) {
    const first = lines[i]!;
    if (first.contentEnd === first.start) break; // the empty line that ends the section
    let j = i + 1;
    for (let next = lines[j]; next && isWsp(raw[next.start]) && next.contentEnd > next.start; next = lines[++j]);
    const last = lines[j - 1]!;
    const folded = j - i > 1;
    const from = i;
    i = j;
    // A continuation with no field before it belongs to nothing.
    if (isWsp(raw[first.start])) continue;
    if (!folded) {
      // Most fields are one line: no folds to unfold, the colon's place is the same in both texts.
      const line = raw.toString('latin1', first.start, first.contentEnd);
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = trimWspEnd(line.slice(0, colon));
      if (!name) continue;
      fields.push({ name, value: line.slice(colon + 1).replace(/^[ \t]+/, ''), start: first.start, end: last.end });
      continue;
    }
    const text = lines
      .slice(from, j)
      .map((l) => raw.toString('latin1', l.start, l.contentEnd))
      .join('\r\n');
    const unfolded = text.replace(/\r\n/g, '');
    const colon = unfolded.indexOf(':');
    if (colon < 0) continue;
    const name = unfolded.slice(0, colon).replace(/[ \t]+$/, '');
    if (!name) continue;
    // The value as written: from after the colon in the folded text, so its folds stay.
    const value = text.slice(foldedIndex(text, colon) + 1).replace(/^[ \t]+/, '');
    fields.push({ name, value, start: first.start, end: last.end });
  }
  return fields;
}

/** Without the spaces and tabs at the end (what `replace(/[ \t]+$/, '')` gives, without a regex per field). */
function trimWspEnd(s: string): string {
  let end = s.length;
  while (end > 0 && (s.charCodeAt(end - 1) === 0x20 || s.charCodeAt(end - 1) === 0x09)) end--;
  return end === s.length ? s : s.slice(0, end);
}

/** Where the `n`th character of the unfolded text lies in the folded text. */
function foldedIndex(folded: string, n: number): number {
  let seen = 0;
  for (let k = 0; k < folded.length; k++) {
    if (folded.startsWith('\r\n', k)) {
      k++;
      continue;
    }
    if (seen === n) return k;
    seen++;
  }
  return folded.length;
}

export function parseHeaders(raw: Buffer): HeaderField[] {
  return locateHeaders(raw).map(({ name, value }) => ({ name, value }));
}

/** ASCII-only lower case: header names are ASCII, and an 8-bit byte must not fold into one. */
export const asciiLower = (s: string) => (/^[\x00-\x7f]*$/.test(s) ? s.toLowerCase() : s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32)));
const nameKey = (name: string) => asciiLower(trimWspEnd(name));
/** What two names that sameHeaderName calls the same have in common: compute it once for many comparisons. */
export const headerNameKey = nameKey;
export const sameHeaderName = (a: string, b: string) => nameKey(a) === nameKey(b);

/** A value as one line: folds become a space, surrounding whitespace goes. */
export const unfoldValue = (value: string) => value.replace(/\r?\n[ \t]*/g, ' ').trim();

/** Unfolded values of a header field among parsed fields, case-insensitive name. */
export function fieldValues(fields: readonly HeaderField[], name: string): string[] {
  return fields.filter((f) => sameHeaderName(f.name, name)).map((f) => unfoldValue(f.value));
}

/**
 * Unfolded values by name from one parse, for a step that reads many names of one message (the
 * pipeline reads some twenty): the same answers as fieldValues, without a scan per name.
 */
export function headerIndex(fields: readonly HeaderField[]): (name: string) => string[] {
  const byName = new Map<string, string[]>();
  for (const f of fields) {
    const key = nameKey(f.name);
    const list = byName.get(key);
    if (list) list.push(unfoldValue(f.value));
    else byName.set(key, [unfoldValue(f.value)]);
  }
  return (name) => [...(byName.get(nameKey(name)) ?? [])];
}

/** Unfolded values of a header field, case-insensitive name. */
export function headerValues(raw: Buffer, name: string): string[] {
  return fieldValues(parseHeaders(raw), name);
}

/** A field name a writer may put on the wire: printable ASCII, no colon (RFC 5322 §3.6.8). */
export const isFieldName = (name: string) => /^[!-9;-~]+$/.test(name);

/** A header field as it is written on top of a message, refused if it would inject a line or a bad name. */
export function headerLine(name: string, value: string): Buffer {
  if (/[\r\n:]/.test(name) || /\r?\n(?![ \t])|\r(?!\n)/.test(value)) throw new Error(`header ${name} would inject a line break`);
  if (!isFieldName(name)) throw new Error(`header name ${JSON.stringify(name)} is not a field name`);
  return Buffer.from(`${name}: ${value.replace(/\r?\n/g, '\r\n')}\r\n`, 'latin1');
}

export function prependHeader(raw: Buffer, name: string, value: string): Buffer {
  return Buffer.concat([headerLine(name, value), raw]);
}

/** The message without the fields whose name matches: their bytes are cut, every other byte stays. */
export function removeHeaders(raw: Buffer, matches: (name: string) => boolean): Buffer {
  const cut = locateHeaders(raw).filter((f) => matches(f.name));
  if (!cut.length) return raw;
  const parts: Buffer[] = [];
  let at = 0;
  for (const f of cut) {
    parts.push(raw.subarray(at, f.start));
    at = f.end;
  }
  parts.push(raw.subarray(at));
  return Buffer.concat(parts);
}

export function messageIdOf(raw: Buffer): string | undefined {
  return headerValues(raw, 'message-id')[0];
}
