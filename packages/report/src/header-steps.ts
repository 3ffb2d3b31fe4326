import type { HeaderEditEvent, HeaderField, TraceEvent } from '@relaylab/core';

/** The header fields of one message as one node received them, what it edited, and what it passed on. */
export interface HeaderStep {
  node: string;
  at: string;
  /** `submitted` at the first node, `received` over SMTP after that. */
  kind: 'submitted' | 'received';
  headersIn: HeaderField[];
  /** Edits in the order the node made them after the message arrived. */
  edits: HeaderEditEvent[];
  /** Edits the node traced before its arrival event (a Message-ID it added): already in `headersIn`. */
  editsBefore: HeaderEditEvent[];
  headersOut: HeaderField[];
}

const lower = (s: string) => s.toLowerCase();
const mentions = (list: readonly string[], addresses: readonly string[]) => list.some((a) => addresses.includes(lower(a)));

function apply(fields: HeaderField[], edit: HeaderEditEvent): HeaderField[] {
  if (edit.op === 'prepend') return [{ name: edit.name, value: edit.value ?? '' }, ...fields];
  if (edit.op === 'remove') return fields.filter((f) => lower(f.name) !== lower(edit.name));
  return fields;
}

/**
 * Rebuild the header fields at every node a message passed for one recipient, from the
 * `submitted`/`received` events (headers as they arrived) and the `header` events (each edit).
 * Edits a node traced before its received event (a Message-ID it added) are already part of
 * `headersIn`, so they are kept apart and not applied twice.
 */
export function headerSteps(trace: readonly TraceEvent[], messageId: string, addresses: readonly string[]): HeaderStep[] {
  const wanted = addresses.map(lower);
  const steps: HeaderStep[] = [];
  /** The step each node is in now; undefined when the node's latest session was another recipient's. */
  const current = new Map<string, HeaderStep | undefined>();
  const early = new Map<string, HeaderEditEvent[]>();
  for (const e of trace) {
    if (!('messageId' in e) || e.messageId !== messageId) continue;
    if (e.type === 'submitted' || e.type === 'received') {
      if (!mentions(e.to, wanted)) {
        current.set(e.node, undefined);
        continue;
      }
      const headersIn = (e as { headersIn?: HeaderField[] }).headersIn ?? [];
      const step: HeaderStep = { node: e.node, at: e.at, kind: e.type, headersIn, edits: [], editsBefore: early.get(e.node) ?? [], headersOut: headersIn };
      early.delete(e.node);
      steps.push(step);
      current.set(e.node, step);
    } else if (e.type === 'retargeted' && wanted.includes(lower(e.recipient)) && !wanted.includes(lower(e.to))) {
      wanted.push(lower(e.to));
    } else if (e.type === 'header') {
      if (!current.has(e.node)) {
        early.set(e.node, [...(early.get(e.node) ?? []), e]);
        continue;
      }
      const step = current.get(e.node);
      if (!step) continue;
      step.edits.push(e);
      step.headersOut = apply(step.headersOut, e);
    }
  }
  return steps;
}

/** The header block of what a node stored, rebuilt from the trace (the body is not traced). */
export function headerBlock(fields: readonly HeaderField[]): Buffer {
  return Buffer.from(`${fields.map((f) => `${f.name}: ${f.value}\r\n`).join('')}\r\n`, 'latin1');
}

export interface HeaderDiffLine {
  kind: 'added' | 'removed' | 'changed' | 'kept';
  name: string;
  value: string;
  /** For changed: the value the field had when it arrived. */
  previous?: string;
  /** Why the node made the edit, from its header event. */
  reason?: string;
}

/**
 * What a node did to the header, in the order a reader sees it: the fields it prepended (newest
 * on top, as on the wire), then the fields it received, each kept or removed. A received field
 * the node removed and stamped anew is one changed line; a field it added and then removed again
 * is shown as removed, with the removing edit's reason.
 */
export function headerDiff(step: HeaderStep): HeaderDiffLine[] {
  type Tracked = HeaderField & { added?: string; removed?: string };
  const received: Tracked[] = step.headersIn.map((f) => ({ ...f }));
  let live: Tracked[] = [...received];
  const dropped: Tracked[] = [];
  for (const edit of step.edits) {
    if (edit.op === 'prepend') live = [{ name: edit.name, value: edit.value ?? '', added: edit.reason }, ...live];
    else if (edit.op === 'remove') {
      for (const f of live) if (lower(f.name) === lower(edit.name)) f.removed = edit.reason;
      dropped.push(...live.filter((f) => f.removed !== undefined && f.added !== undefined));
      live = live.filter((f) => f.removed === undefined);
    }
  }
  const replaced = new Set<Tracked>();
  const lines: HeaderDiffLine[] = [];
  for (const f of live) {
    if (f.added === undefined) continue;
    const old = received.find((r) => r.removed !== undefined && !replaced.has(r) && lower(r.name) === lower(f.name));
    if (old) {
      replaced.add(old);
      lines.push({ kind: 'changed', name: f.name, value: f.value, previous: old.value, reason: `${old.removed}; then ${f.added}` });
    } else lines.push({ kind: 'added', name: f.name, value: f.value, reason: f.added });
  }
  for (const f of dropped) lines.push({ kind: 'removed', name: f.name, value: f.value, reason: f.removed });
  for (const f of received) {
    if (replaced.has(f)) continue;
    lines.push(f.removed !== undefined ? { kind: 'removed', name: f.name, value: f.value, reason: f.removed } : { kind: 'kept', name: f.name, value: f.value });
  }
  return lines;
}
