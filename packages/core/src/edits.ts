import { headerEnd, parseHeaders, prependHeader } from './headers';

/** A named header edit; nodes apply them in order and trace each one. */
export interface HeaderEdit {
  op: 'prepend' | 'remove';
  name: string;
  value?: string;
  reason: string;
}

function removeFields(raw: Buffer, matches: (name: string) => boolean): Buffer {
  const end = headerEnd(raw);
  const head = raw.subarray(0, end).toString('latin1');
  // Split into whole fields (a field is its line plus folded continuation lines), keep the line ends.
  const lines = head.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const kept: string[] = [];
  let dropping = false;
  for (const line of lines) {
    if (/^[ \t]/.test(line)) {
      if (!dropping) kept.push(line);
      continue;
    }
    const colon = line.indexOf(':');
    dropping = colon > 0 && matches(line.slice(0, colon).trim());
    if (!dropping) kept.push(line);
  }
  return Buffer.concat([Buffer.from(kept.join(''), 'latin1'), raw.subarray(end)]);
}

/** Apply edits to raw bytes; the body is never touched. */
export function applyEdits(raw: Buffer, edits: readonly HeaderEdit[]): Buffer {
  let out = raw;
  for (const e of edits) {
    if (e.op === 'prepend') out = prependHeader(out, e.name, e.value ?? '');
    else {
      const lower = e.name.toLowerCase();
      out = removeFields(out, (n) => n.toLowerCase() === lower);
    }
  }
  return out;
}

/** `X-MS-Exchange-*` style patterns, case-insensitive. */
export function headerPattern(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
}

/** One remove edit per distinct field name present that matches. */
export function removalsMatching(raw: Buffer, test: (name: string) => boolean, reason: string): HeaderEdit[] {
  const seen = new Set<string>();
  const edits: HeaderEdit[] = [];
  for (const f of parseHeaders(raw)) {
    const key = f.name.toLowerCase();
    if (!test(f.name) || seen.has(key)) continue;
    seen.add(key);
    edits.push({ op: 'remove', name: f.name, reason });
  }
  return edits;
}
