/**
 * The imported topology as YAML, each setting with a comment saying where it came from: before a
 * mapping or list item, or at the end of a value's line.
 */
import { Document, isMap, isScalar, isSeq, type Node, type Pair } from 'yaml';
import type { Topology, ValuePath } from '@relaylab/core';
import type { ImportNote } from './map-topology';

export function topologyYaml(topology: Topology, notes: ImportNote[], header: string[]): string {
  const doc = new Document(topology);
  for (const { path, comment } of notes) attach(doc, path, comment);
  doc.commentBefore = header.map((line) => (line ? ` ${line}` : '')).join('\n');
  return doc.toString({ lineWidth: 0 });
}

function attach(doc: Document, path: ValuePath, comment: string): void {
  const parentPath = path.slice(0, -1);
  const last = path.at(-1);
  const parent = parentPath.length === 0 ? doc.contents : (doc.getIn(parentPath, true) as unknown);
  const line = ` ${comment.replace(/\s*\n\s*/g, ' ')}`;
  if (isMap(parent)) {
    const pair = parent.items.find((p: Pair) => isScalar(p.key) && p.key.value === last);
    if (!pair) return;
    const value = pair.value as Node | null;
    if (isScalar(value) || (isSeq(value) && value.flow)) value.comment = joined(value.comment, line);
    else if (isScalar(pair.key)) pair.key.commentBefore = joined(pair.key.commentBefore, line);
  } else if (isSeq(parent) && typeof last === 'number') {
    const item = parent.items[last] as Node | undefined;
    if (item) item.commentBefore = joined(item.commentBefore, line);
  }
}

const joined = (before: string | null | undefined, line: string) => (before ? `${before}\n${line}` : line);
