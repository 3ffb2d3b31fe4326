import type { AttemptEvent, Topology, TraceEvent } from '@relaylab/core';
import type { Fate, Hop } from '@relaylab/lab';
import type { HeaderStep } from '../header-steps';
import { headerDiff } from '../header-steps';
import { esc, fit } from './escape';
import { ARROW_DEFS, svgText } from './svg';
import { hopStatus, nodeByAddress } from './traffic';

const COL = 420;
const LEFT = 30;
const HEAD = 56;
const ROW = 104;
const CHAR = 6.4;

/** One thing that happened to the message, drawn as one row. */
export type SequenceRow = { kind: 'hop'; hop: Hop; attempt?: AttemptEvent } | { kind: 'failed'; attempt: AttemptEvent; to: string };

/**
 * The attempts for this recipient in the order they happened. The trace has them in order;
 * fates keep successful hops and failed attempts apart, so they are paired back by position.
 */
export function sequenceRows(trace: readonly TraceEvent[], messageId: string, fate: Fate, topology: Topology): SequenceRow[] {
  const addresses = (fate.addresses?.length ? fate.addresses : []).map((a) => a.toLowerCase());
  const ours = (list: string[]) => !addresses.length || list.some((r) => addresses.includes(r.toLowerCase()));
  const failedRow = (a: AttemptEvent): SequenceRow => ({ kind: 'failed', attempt: a, to: nodeByAddress(topology, a.destination.ip, a.destination.host) });
  const rows: SequenceRow[] = [];
  let hop = 0;
  let failed = 0;
  for (const e of trace) {
    if (e.type !== 'attempt' || e.messageId !== messageId || !ours(e.recipients)) continue;
    const accepted = ours(e.accepted);
    const h = accepted ? fate.hops[hop] : undefined;
    const a = accepted ? undefined : fate.failedAttempts[failed];
    if (h) {
      hop++;
      rows.push({ kind: 'hop', hop: h, attempt: e });
    } else if (a) {
      failed++;
      rows.push(failedRow(a));
    }
  }
  // anything the pairing missed still gets drawn
  for (const h of fate.hops.slice(hop)) rows.push({ kind: 'hop', hop: h });
  for (const a of fate.failedAttempts.slice(failed)) rows.push(failedRow(a));
  return rows;
}

export function tlsLine(h: Hop): string {
  if (h.tls === 'none') return 'plaintext (no TLS)';
  const cert = h.certificateVerified ? `certificate verified${h.certificateName ? ` for ${h.certificateName}` : ''}` : 'certificate not verified';
  return `${h.tls} · ${cert}`;
}

export function classificationLine(h: Hop): string | undefined {
  const c = h.classification as (Record<string, unknown> & { authAs?: string }) | undefined;
  const authAs = c?.authAs ?? (h as unknown as { authAs?: string }).authAs;
  if (!c && !authAs) return undefined;
  const bits = [authAs ? `AuthAs ${authAs}` : undefined, typeof c?.directionality === 'string' ? c.directionality : undefined];
  const spam = c?.antispam as { sfv?: string; scl?: number } | undefined;
  if (spam) bits.push(`SFV:${spam.sfv} SCL:${spam.scl}`);
  const rules = c?.rules as Array<{ rule: string }> | undefined;
  if (rules?.length) bits.push(`rules: ${rules.map((r) => r.rule).join(', ')}`);
  return bits.filter(Boolean).join(' · ');
}

export function finalLine(f: Fate): string {
  switch (f.state) {
    case 'delivered':
      return `delivered to ${f.mailbox ?? '?'}${f.folder ? ` (${f.folder})` : ''}`;
    case 'deleted':
      return `deleted by rule ${f.rule ?? '?'}`;
    case 'handedOff':
      return `handed off to ${f.handedOffTo ?? '?'} (outside the lab)`;
    case 'unaccounted':
      return 'unaccounted: no final state in the trace';
    default:
      return `${f.state}${f.reply ? `: ${f.reply}` : ''}`;
  }
}

/**
 * A sequence diagram of one recipient's journey: a lifeline per node, an arrow per connection
 * (TLS, certificate, connectors, classification on it), the header edits per node as links to
 * their diff, and the final verdict where it happened.
 */
export function sequenceDiagram(o: {
  fate: Fate;
  rows: SequenceRow[];
  steps: HeaderStep[];
  topology: Topology;
  headerAnchor: (stepIndex: number) => string;
}): string {
  const { fate, rows, steps, topology } = o;
  const participants: string[] = [];
  const add = (n: string | undefined) => n && !participants.includes(n) && participants.push(n);
  fate.path.forEach(add);
  for (const r of rows) {
    if (r.kind === 'hop') [r.hop.from, r.hop.to].forEach(add);
    else [r.attempt.node, r.to].forEach(add);
  }
  add(fate.node);
  if (!participants.length) participants.push('(nothing submitted)');

  const x = (n: string) => LEFT + COL / 2 + participants.indexOf(n) * COL;
  const width = LEFT * 2 + participants.length * COL;
  const parts: string[] = [ARROW_DEFS];

  participants.forEach((p) => {
    const cx = x(p);
    const n = topology.nodes[p];
    parts.push(
      `<g class="participant" data-node="${esc(p)}"><rect x="${cx - COL / 2 + 14}" y="8" width="${COL - 28}" height="${HEAD - 12}" rx="6"/>${svgText(cx, 28, p, fit(p, 30), 'node-name')}${svgText(cx, 44, n ? `${n.role} · ${n.address}` : '', fit(n ? `${n.role} · ${n.address}` : '', 34), 'node-detail')}</g>`,
    );
  });

  let y = HEAD + 20;
  // each node's header step is linked from the arrow that brought the message there, in order
  const linked = new Set<number>();
  const headerLink = (node: string, cx: number, cy: number) => {
    const i = steps.findIndex((s, index) => s.node === node && !linked.has(index));
    const step = steps[i];
    if (!step) return '';
    linked.add(i);
    const lines = headerDiff(step);
    const added = lines.filter((l) => l.kind === 'added').length;
    const removed = lines.filter((l) => l.kind === 'removed').length;
    const changed = lines.filter((l) => l.kind === 'changed').length;
    const text = `headers +${added} −${removed} ~${changed}`;
    return `<a href="#${esc(o.headerAnchor(i))}" class="header-link" data-step="${i}"><rect x="${cx + 6}" y="${cy - 11}" width="${text.length * CHAR + 10}" height="16" rx="8" class="badge${removed ? ' badge-removed' : changed ? ' badge-changed' : added ? ' badge-added' : ''}"/>${svgText(cx + 11, cy + 1, text, text, 'badge-text', 'start')}</a>`;
  };

  // the submission
  const first = participants[0]!; // never empty: see above
  const submission = fate.submission as { authAs?: string } | undefined;
  const note = `submitted${submission?.authAs ? ` · AuthAs ${submission.authAs}` : ''}`;
  parts.push(
    `<rect x="${x(first) - 90}" y="${y - 14}" width="180" height="22" rx="4" class="note"/>`,
    svgText(x(first), y + 1, note, fit(note, 28), 'note-text'),
  );
  parts.push(headerLink(first, x(first) + 90, y - 3));
  y += ROW / 1.6;

  for (const r of rows) {
    const from = r.kind === 'hop' ? r.hop.from : r.attempt.node;
    const to = r.kind === 'hop' ? r.hop.to : r.to;
    const x1 = x(from);
    const x2 = x(to);
    const status = r.kind === 'hop' ? hopStatus(r.hop.tls, r.hop.certificateVerified) : 'failed';
    const mid = (x1 + x2) / 2;
    const room = Math.abs(x2 - x1) / CHAR - 2;
    const above = r.kind === 'hop' ? tlsLine(r.hop) : `${r.attempt.outcome}: ${r.attempt.replies[0] ?? r.attempt.tlsDecision}`;
    const below =
      r.kind === 'hop'
        ? `out: ${r.hop.outboundConnector}`
        : r.attempt.tls.secure
          ? `${r.attempt.tls.protocol} · ${r.attempt.tlsDecision}`
          : r.attempt.tlsDecision;
    const inbound = r.kind === 'hop' ? `in: ${r.hop.inboundConnector ?? '(no connector matched)'}` : undefined;
    const third = r.kind === 'hop' ? classificationLine(r.hop) : undefined;
    const cls = `hop hop-${status}`;
    parts.push(
      `<g class="${cls}" data-from="${esc(from)}" data-to="${esc(to)}"><title>${esc([`${from} → ${to}`, above, below, inbound, third].filter(Boolean).join('\n'))}</title>`,
      svgText(mid, y - 8, above, fit(above, room), `hop-label label-${status}`),
      `<line x1="${x1}" y1="${y}" x2="${x2 + (x2 > x1 ? -3 : 3)}" y2="${y}" class="link link-${status}" marker-end="url(#arrow-${status})"/>`,
      r.kind === 'failed' ? `<text x="${x2 + (x2 > x1 ? -14 : 14)}" y="${y + 5}" class="cross" text-anchor="middle">✗</text>` : '',
      svgText(mid, y + 17, below, fit(below, room), 'hop-detail'),
      inbound ? svgText(mid, y + 32, inbound, fit(inbound, room), 'hop-detail') : '',
      third ? svgText(mid, y + 47, third, fit(third, room), 'hop-class') : '',
      '</g>',
    );
    if (r.kind === 'hop') parts.push(headerLink(to, x2, y + 66));
    y += ROW;
  }

  // the verdict, on the node where it happened
  const at = fate.node && participants.includes(fate.node) ? fate.node : participants[participants.length - 1]!;
  const verdict = finalLine(fate);
  // the verdict is bold and larger than the labels: wider characters
  const vw = Math.min(COL * 1.8, verdict.length * 7.4 + 24);
  parts.push(
    `<g class="verdict verdict-${esc(fate.state)}"><title>${esc(`${verdict}${fate.reason ? `\n${fate.reason}` : ''}`)}</title><rect x="${x(at) - vw / 2}" y="${y - 14}" width="${vw}" height="24" rx="12"/>${svgText(x(at), y + 3, verdict, fit(verdict, (vw - 24) / 7.4), 'verdict-text')}</g>`,
  );
  const height = y + 30;
  const lifelines = participants.map((p) => `<line x1="${x(p)}" y1="${HEAD - 4}" x2="${x(p)}" y2="${height - 8}" class="lifeline"/>`);
  return `<svg class="sequence" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="sequence of ${esc(fate.path.join(' → '))}">${lifelines.join('')}${parts.join('')}</svg>`;
}
