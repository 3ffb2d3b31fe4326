import { asciiLower, parseHeaders, prependHeader, removeHeaders, sameHeaderName, type HeaderField } from './headers';

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
