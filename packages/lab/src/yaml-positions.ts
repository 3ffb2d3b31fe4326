import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document, Node } from 'yaml';

/** A path into parsed YAML: map keys and sequence indexes, as JSON pointers and ajv use them. */
export type FieldPath = ReadonlyArray<string | number>;

export interface Position {
  line: number;
  column: number;
}

export interface ParsedYaml {
  doc: Document;
  lineCounter: LineCounter;
  /** The plain JavaScript value; only meaningful when `syntaxErrors` is empty. */
  value: unknown;
  syntaxErrors: Array<Position & { message: string }>;
}

export function parseYaml(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  // prettyErrors would append a code frame to each message; we print file:line:column instead.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const syntaxErrors = doc.errors.map((error) => ({ ...toPosition(lineCounter, error.pos[0]), message: error.message }));
  // maxAliasCount bounds alias expansion, so a hostile file cannot blow up memory (billion laughs).
  const value = syntaxErrors.length === 0 ? doc.toJS({ maxAliasCount: 100 }) : undefined;
  return { doc, lineCounter, value, syntaxErrors };
}

/**
 * Where `path` is written in the file. With `atKey`, the position of the map key rather than
 * its value (an unknown field is best shown at its name). A path that does not exist (a missing
 * required field) resolves to the nearest parent that does, shown at that parent's key.
 */
export function positionOf(parsed: ParsedYaml, path: FieldPath, atKey = false): Position {
  const { doc, lineCounter } = parsed;
  let node: unknown = doc.contents;
  let keyOfNode: Node | undefined;
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    const segment = path[i];
    let next: unknown;
    let key: Node | undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (pair) {
        key = pair.key as Node;
        next = pair.value ?? pair.key;
      }
    } else if (isSeq(node)) {
      next = node.items[Number(segment)];
    }
    if (!isNode(next)) return nodePosition(lineCounter, keyOfNode ?? node);
    const isLast = i === path.length - 1;
    if (isLast && atKey && key) return nodePosition(lineCounter, key);
    node = next;
    keyOfNode = key;
  }
  return nodePosition(lineCounter, node);
}

/** `nodes.eop.inboundConnectors[0].Name`; keys that are not plain words are quoted: `mx["contoso.example"]`. */
export function formatFieldPath(path: FieldPath): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/**
 * Decodes an ajv instancePath (a JSON pointer such as `/nodes/eop/address`) against the value it
 * points into, so that sequence indexes come out as numbers and print as `[0]`.
 */
export function pointerToPath(pointer: string, root: unknown): Array<string | number> {
  if (pointer === '') return [];
  const path: Array<string | number> = [];
  let value = root;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const isIndex = Array.isArray(value);
    path.push(isIndex ? Number(segment) : segment);
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[segment] : undefined;
  }
  return path;
}

function nodePosition(lineCounter: LineCounter, node: unknown): Position {
  const offset = isNode(node) && node.range ? node.range[0] : 0;
  return toPosition(lineCounter, offset);
}

function toPosition(lineCounter: LineCounter, offset: number): Position {
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}
