import {
  asciiLower,
  headerLine,
  headerNameKey,
  locateHeaders,
  parseHeaders,
  prependHeader,
  removeHeaders,
  sameHeaderName,
  type HeaderField,
  type LocatedField,
} from './headers';

/** A named header edit; nodes apply them in order and trace each one. */
export interface HeaderEdit {
  op: 'prepend' | 'remove';
  name: string;
  value?: string;
  reason: string;
}

/**
 * Apply edits to raw bytes; the body is never touched. A remove acts on the same parse every read
 * uses (headers.ts), so it removes every field a reader would call by that name.
 */
export function applyEdits(raw: Buffer, edits: readonly HeaderEdit[]): Buffer {
  if (!edits.length) return raw;
  // A message that starts with a continuation line would have it folded into whatever field is
  // prepended above it: there each edit is applied to the bytes the previous one left.
  if (raw[0] === 0x20 || raw[0] === 0x09) return applyOneByOne(raw, edits);
  // One parse for all the edits, in their order: a remove cuts the message's own fields by the
  // same parse every read uses and any field an earlier edit prepended; prepends stack on top.
  // The bytes are those that applying the edits one at a time would give.
  const fields = locateHeaders(raw);
  // Each name's key once: a hop makes some twenty edits to a message of some thirty fields.
  const keys = fields.map((f) => headerNameKey(f.name));
  const cut = new Set<LocatedField>();
  let added: Array<{ key: string; line: Buffer }> = [];
  for (const e of edits) {
    const key = headerNameKey(e.name);
    if (e.op === 'prepend') added.unshift({ key, line: headerLine(e.name, e.value ?? '') });
    else {
      for (let i = 0; i < fields.length; i++) if (keys[i] === key) cut.add(fields[i]!);
      added = added.filter((a) => a.key !== key);
    }
  }
  const parts = added.map((a) => a.line);
  let at = 0;
  for (const f of fields) {
    if (!cut.has(f)) continue;
    parts.push(raw.subarray(at, f.start));
    at = f.end;
  }
  parts.push(raw.subarray(at));
  return Buffer.concat(parts);
}

function applyOneByOne(raw: Buffer, edits: readonly HeaderEdit[]): Buffer {
  let out = raw;
  for (const e of edits) {
    if (e.op === 'prepend') out = prependHeader(out, e.name, e.value ?? '');
    else out = removeHeaders(out, (n) => sameHeaderName(n, e.name));
  }
  return out;
}

/** `X-MS-Exchange-*` style patterns, case-insensitive. */
export function headerPattern(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
}

type Reason = string | ((name: string) => string);

/** One remove edit per distinct field name among `fields` that matches (first spelling seen). */
export function removalsOf(fields: readonly HeaderField[], test: (name: string) => boolean, reason: Reason): HeaderEdit[] {
  const seen = new Set<string>();
  const edits: HeaderEdit[] = [];
  for (const f of fields) {
    const key = asciiLower(f.name);
    if (!test(f.name) || seen.has(key)) continue;
    seen.add(key);
    edits.push({ op: 'remove', name: f.name, reason: typeof reason === 'string' ? reason : reason(f.name) });
  }
  return edits;
}

/** One remove edit per distinct field name present that matches. */
export function removalsMatching(raw: Buffer, test: (name: string) => boolean, reason: Reason): HeaderEdit[] {
  return removalsOf(parseHeaders(raw), test, reason);
}
