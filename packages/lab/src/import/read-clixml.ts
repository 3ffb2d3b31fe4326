/**
 * `Export-Clixml` output: PowerShell's own serialization (MS-PSRP 2.2.5). Unlike ConvertTo-Json in
 * Windows PowerShell 5.1 it keeps an enum's name (`<ToString>`), a size as Exchange prints it, and
 * every list's items. Read here: primitives (`S`, `B`, `I32`, `DT`, `TS` …), `Nil`, lists and
 * dictionaries, objects by their properties (`Props`, `MS`) or, nested, by their `ToString`, and
 * `Ref` to an object met before. Only this subset of XML is parsed: elements, attributes, text.
 */
import type { ExportedRecords } from './read-json';

interface Element {
  name: string;
  attributes: Record<string, string>;
  children: Element[];
  text: string;
}

/** Export-Clixml nests as deep as the object (its -Depth, default 2); past this it is not an export, and would exhaust the stack. */
const MAX_DEPTH = 100;

export function readClixmlExport(text: string): ExportedRecords {
  // Export-Clixml never writes a DTD; one here could only declare entities to expand (a "billion laughs").
  const doctype = /<!DOCTYPE/i.exec(text);
  if (doctype) throw new Error(`line ${lineAt(text, doctype.index)}: a <!DOCTYPE> (entity declarations) is not Export-Clixml output; refused`);
  const root = parseXml(text.replace(/^\uFEFF/, ''));
  if (root.name !== 'Objs') throw new Error(`expected <Objs> (Export-Clixml); found <${root.name}>`);
  const refs: Refs = { values: new Map(), left: MAX_VALUES };
  const records: Array<Record<string, unknown>> = [];
  let typeName: string | undefined;
  for (const child of root.children) {
    const value = convert(child, refs, true);
    typeName ??= child.children.find((c) => c.name === 'TN')?.children[0]?.text;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) records.push(value as Record<string, unknown>);
    else if (Array.isArray(value)) records.push(...value.filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)));
  }
  return { format: 'clixml', ...(typeName !== undefined && { typeName }), records };
}

const NUMBERS = new Set(['I16', 'I32', 'I64', 'U16', 'U32', 'U64', 'By', 'SB', 'Sg', 'Db', 'D']);
const STRINGS = new Set(['S', 'Version', 'URI', 'G', 'XD', 'SBK', 'BA', 'C']);

/**
 * Objects met so far by RefId, each with how many values it holds once its own references are
 * followed; `left` is what the file may still hold so. A `<Ref>` costs its object's size: lists
 * of references to lists of references would otherwise expand exponentially when written.
 */
interface Refs {
  values: Map<string, { value: unknown; size: number }>;
  left: number;
}

const MAX_VALUES = 5_000_000;

function spend(refs: Refs, n: number): void {
  refs.left -= n;
  if (refs.left < 0) throw new Error(`more than ${MAX_VALUES} values once its <Ref> elements are followed (a reference bomb, not an export)`);
}

function convert(e: Element, refs: Refs, top = false, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new Error(`objects nested deeper than ${MAX_DEPTH} levels (Export-Clixml -Depth writes far fewer)`);
  spend(refs, 1);
  if (STRINGS.has(e.name)) return unescapeString(e.text);
  if (NUMBERS.has(e.name)) return Number(e.text);
  switch (e.name) {
    case 'B':
      return e.text.trim() === 'true';
    case 'Nil':
      return null;
    case 'DT':
      return e.text.trim();
    case 'TS':
      return isoDurationToTimeSpan(e.text.trim()) ?? e.text.trim();
    case 'Ref': {
      const ref = refs.values.get(e.attributes.RefId ?? '');
      if (!ref) return null;
      spend(refs, ref.size);
      return ref.value;
    }
    case 'Obj': {
      const before = refs.left;
      const value = convertObject(e, refs, top, depth);
      if (e.attributes.RefId !== undefined) refs.values.set(e.attributes.RefId, { value, size: before - refs.left });
      return value;
    }
    default:
      return e.text.trim() === '' ? null : unescapeString(e.text);
  }
}

function convertObject(e: Element, refs: Refs, top: boolean, depth: number): unknown {
  const child = (name: string) => e.children.find((c) => c.name === name);
  const collection = child('LST') ?? child('IE') ?? child('STK') ?? child('QUE');
  if (collection) return collection.children.map((c) => convert(c, refs, false, depth + 1));
  const dictionary = child('DCT');
  if (dictionary) {
    return Object.fromEntries(
      dictionary.children.map((en) => {
        const key = en.children.find((c) => c.attributes.N === 'Key');
        const value = en.children.find((c) => c.attributes.N === 'Value');
        return [String(key ? convert(key, refs, false, depth + 1) : ''), value ? convert(value, refs, false, depth + 1) : null];
      }),
    );
  }
  const toString = child('ToString');
  const properties = [...(child('Props')?.children ?? []), ...(child('MS')?.children ?? [])];
  // A nested object (an enum, a size, an IP range, an address space) reads as Exchange prints it.
  if (toString && (!top || properties.length === 0)) return unescapeString(toString.text);
  const out: Record<string, unknown> = {};
  for (const p of properties) if (p.attributes.N !== undefined) out[p.attributes.N] = convert(p, refs, false, depth + 1);
  return out;
}

/** `_x000D__x000A_` (how Clixml escapes characters XML cannot hold) → the characters. */
function unescapeString(text: string): string {
  return text.replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** `PT10M`, `P1D`, `PT0.5S` → `[d.]hh:mm:ss`, as Exchange prints a time span. */
function isoDurationToTimeSpan(text: string): string | undefined {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text);
  if (!m) return undefined;
  const total = Math.round(Number(m[1] ?? 0) * 86_400 + Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0));
  const two = (n: number) => String(n).padStart(2, '0');
  const days = Math.floor(total / 86_400);
  const clock = `${two(Math.floor((total % 86_400) / 3600))}:${two(Math.floor((total % 3600) / 60))}:${two(total % 60)}`;
  return days > 0 ? `${days}.${clock}` : clock;
}

const lineAt = (text: string, index: number) => text.slice(0, index).split('\n').length;

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_, entity: string) => {
    const code = entity.startsWith('#x') ? parseInt(entity.slice(2), 16) : entity.startsWith('#') ? Number(entity.slice(1)) : undefined;
    if (code !== undefined) return code <= 0x10ffff ? String.fromCodePoint(code) : '\uFFFD';
    return ENTITIES[entity] ?? '';
  });
}

/** The document element of the XML: declarations, comments and processing instructions skipped. */
function parseXml(xml: string): Element {
  const stack: Element[] = [];
  let root: Element | undefined;
  const tag = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!\[CDATA\[([\s\S]*?)\]\]>/g;
  let last = 0;
  for (let m = tag.exec(xml); m; m = tag.exec(xml)) {
    const between = xml.slice(last, m.index);
    last = tag.lastIndex;
    if (stack.length > 0) stack[stack.length - 1]!.text += decode(between);
    else if (between.trim() !== '') throw new Error('text outside the document element');
    if (m[5] !== undefined) {
      if (stack.length > 0) stack[stack.length - 1]!.text += m[5];
      continue;
    }
    if (m[2] === undefined) continue; // declaration, comment
    const [, closing, name, rawAttributes, selfClosing] = m;
    if (closing) {
      const open = stack.pop();
      if (!open || open.name !== name) throw new Error(`</${name}> closes ${open ? `<${open.name}>` : 'nothing'}`);
      if (stack.length === 0) root = open;
      continue;
    }
    const attributes: Record<string, string> = {};
    for (const a of (rawAttributes ?? '').matchAll(/([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attributes[a[1]!] = decode(a[2] ?? a[3] ?? '');
    const element: Element = { name: name!.replace(/^.*:/, ''), attributes, children: [], text: '' };
    if (stack.length > 0) stack[stack.length - 1]!.children.push(element);
    else if (root) throw new Error('a second document element');
    if (selfClosing) {
      if (stack.length === 0) root = element;
    } else {
      stack.push(element);
    }
  }
  if (stack.length > 0) throw new Error(`<${stack[stack.length - 1]!.name}> is not closed`);
  if (!root) throw new Error('no document element');
  return root;
}
