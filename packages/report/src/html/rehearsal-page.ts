import type { TraceEvent } from '@relaylab/core';
import { fateOf, formatMs, type MessageStanding, type RehearsalResult } from '@relaylab/lab';
import { esc, slug } from './escape';
import { sequenceDiagram, sequenceRows } from './sequence-diagram';
import { STYLES } from './styles';

/** How a message of the traffic fared, as the chart colours it. */
export type Outcome = 'delivered' | 'deferred' | 'reclassified' | 'returned' | 'deleted' | 'handedOff' | 'queued' | 'lost';
const OUTCOMES: Outcome[] = ['delivered', 'deferred', 'reclassified', 'queued', 'returned', 'deleted', 'handedOff', 'lost'];
const LABEL: Record<Outcome, string> = {
  delivered: 'delivered',
  deferred: 'delivered after a deferral',
  reclassified: 'delivered, classified differently',
  queued: 'still queued at the end',
  returned: 'bounced / refused (NDR)',
  deleted: 'deleted by a rule',
  handedOff: 'handed off outside the lab',
  lost: 'lost',
};

export interface Bucket {
  fromMs: number;
  toMs: number;
  counts: Record<Outcome, number>;
  messages: MessageStanding[];
}

/**
 * A message's outcome for the chart: `reclassified` is a delivery whose AuthAs differs from the
 * direction's first delivered message, the classification the direction had before any change.
 */
export function outcomeOf(m: MessageStanding, baseline: string | undefined): Outcome {
  if (m.state !== 'delivered') return m.state;
  if (baseline !== undefined && (m.authAs ?? '') !== baseline) return 'reclassified';
  return m.deferred ? 'deferred' : 'delivered';
}

/** A bucket size that gives at most about 96 bars over the rehearsal. */
export function bucketMs(durationMs: number): number {
  return [300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000].find((b) => durationMs / b <= 96) ?? 86_400_000;
}

/** The direction's messages by submission time, each bucket counted by outcome. Pure. */
export function bucketsOf(messages: readonly MessageStanding[], durationMs: number): Bucket[] {
  const size = bucketMs(durationMs);
  const baseline = [...messages].sort((a, b) => a.submittedAtMs - b.submittedAtMs).find((m) => m.state === 'delivered')?.authAs ?? undefined;
  const buckets: Bucket[] = [];
  for (let from = 0; from < durationMs; from += size) {
    buckets.push({
      fromMs: from,
      toMs: Math.min(durationMs, from + size),
      counts: Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>,
      messages: [],
    });
  }
  for (const m of messages) {
    const b = buckets[Math.min(buckets.length - 1, Math.floor(m.submittedAtMs / size))];
    if (!b) continue;
    b.counts[outcomeOf(m, baseline)]++;
    b.messages.push(m);
  }
  return buckets;
}

const W = 960;
const H = 150;
const PAD = { left: 40, right: 10, top: 26, bottom: 24 };

function chart(direction: string, buckets: Bucket[], result: RehearsalResult): string {
  const duration = result.durationMs;
  const max = Math.max(1, ...buckets.map((b) => b.messages.length));
  const x = (ms: number) => PAD.left + (ms / duration) * (W - PAD.left - PAD.right);
  const y = (n: number) => H - PAD.bottom - (n / max) * (H - PAD.top - PAD.bottom);
  const parts: string[] = [];
  parts.push(`<line x1="${PAD.left}" y1="${y(0)}" x2="${W - PAD.right}" y2="${y(0)}" class="axis"/>`);
  parts.push(
    `<text x="${PAD.left - 6}" y="${y(max) + 4}" class="tick" text-anchor="end">${max}</text><text x="${PAD.left - 6}" y="${y(0) + 4}" class="tick" text-anchor="end">0</text>`,
  );
  const hours = duration / 3_600_000;
  const step = hours > 12 ? 4 : hours > 4 ? 1 : 0.5;
  for (let h = 0; h <= hours + 1e-9; h += step)
    parts.push(`<text x="${x(h * 3_600_000)}" y="${H - 6}" class="tick" text-anchor="middle">${formatMs(h * 3_600_000) || '0'}</text>`);
  buckets.forEach((b, i) => {
    const x1 = x(b.fromMs) + 1;
    const w = Math.max(1, x(b.toMs) - x(b.fromMs) - 2);
    let stacked = 0;
    const bars = OUTCOMES.filter((o) => b.counts[o] > 0).map((o) => {
      const top = y(stacked + b.counts[o]);
      const rect = `<rect x="${x1}" y="${top}" width="${w}" height="${y(stacked) - top}" class="bar bar-${o}"/>`;
      stacked += b.counts[o];
      return rect;
    });
    const title = `${formatMs(b.fromMs) || '0s'}–${formatMs(b.toMs)}: ${b.messages.length} sent${OUTCOMES.filter((o) => b.counts[o])
      .map((o) => `, ${b.counts[o]} ${LABEL[o]}`)
      .join('')}`;
    parts.push(
      `<g class="bucket" data-panel="${esc(slug('b', direction, i))}" tabindex="0"><title>${esc(title)}</title><rect x="${x1}" y="${PAD.top}" width="${w}" height="${y(0) - PAD.top}" class="hit"/>${bars.join('')}</g>`,
    );
  });
  // changes made at the same lab time share one marker, numbered as in the list of changes
  const marks = new Map<number, number[]>();
  result.changes.forEach((c, i) => marks.set(c.atMs, [...(marks.get(c.atMs) ?? []), i]));
  for (const [atMs, list] of marks) {
    const title = list.map((i) => `${formatMs(atMs) || '0s'}: ${result.changes[i]!.say}`).join('\n');
    parts.push(
      `<g class="change"><title>${esc(title)}</title><line x1="${x(atMs)}" y1="${PAD.top - 12}" x2="${x(atMs)}" y2="${y(0)}"/><text x="${x(atMs) + 3}" y="${PAD.top - 4}">${list.map((i) => i + 1).join(',')}</text></g>`,
    );
  }
  for (const c of result.checkpoints) {
    parts.push(
      `<g class="checkpoint ${c.passed ? 'held' : 'broken'}"><title>${esc(`${c.name}: ${c.passed ? 'held' : 'FAILED'}`)}</title><circle cx="${x(c.atMs)}" cy="${y(0)}" r="5"/></g>`,
    );
  }
  return `<svg class="over-time" data-direction="${esc(direction)}" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(direction)} over time">${parts.join('')}</svg>`;
}

function messageHtml(m: MessageStanding, result: RehearsalResult, byMessage: Map<string, TraceEvent[]>, forwarded: TraceEvent[]): string {
  const events = byMessage.get(m.messageId) ?? [];
  const submitted = events.find((e) => e.type === 'submitted');
  const recipient = submitted?.type === 'submitted' ? (submitted.to[0] ?? '') : '';
  let diagram = '';
  if (result.topology && recipient) {
    const topology = result.topology;
    const nodeAt = (ip: string, port: number) => result.endpoints?.[`${ip}:${port}`];
    const fate = fateOf([...events, ...forwarded], m.messageId, recipient, nodeAt);
    diagram = `<div class="diagram">${sequenceDiagram({ fate, rows: sequenceRows(events, m.messageId, fate, topology), steps: [], topology, headerAnchor: () => '' })}</div>`;
  }
  return `<details class="message outcome-${esc(m.state)}" id="${esc(slug('m', m.messageId))}"><summary><code>${esc(m.messageId)}</code> sent at ${esc(formatMs(m.submittedAtMs) || '0s')} · <b>${esc(m.state)}</b> · ${esc(m.story)}</summary>${diagram}</details>`;
}

const PAGE_STYLES = `
svg.over-time { background: #fff; border: 1px solid var(--line); border-radius: 6px; }
svg .axis { stroke: #8c959f; } svg .tick { font-size: 10px; fill: var(--muted); }
svg .bucket { cursor: pointer; } svg .bucket .hit { fill: transparent; } svg .bucket:hover .hit, svg .bucket.selected .hit { fill: #eaeef2; }
svg .bar-delivered { fill: #2da44e; } svg .bar-deferred { fill: #bf8700; } svg .bar-reclassified { fill: #8250df; } svg .bar-queued { fill: #fb8f44; }
svg .bar-returned { fill: #cf222e; } svg .bar-deleted { fill: #6e7781; } svg .bar-handedOff { fill: #54aeff; } svg .bar-lost { fill: #000; }
svg .change line { stroke: #0969da; stroke-width: 1.5; stroke-dasharray: 4 3; } svg .change text { font-size: 11px; font-weight: 700; fill: #0969da; }
svg .checkpoint.held circle { fill: var(--ok); } svg .checkpoint.broken circle { fill: var(--bad); }
.legend-row span { display: inline-block; margin-right: 14px; font-size: 12px; } .legend-row i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: -1px; }
.panel { display: none; border-left: 3px solid var(--line); padding: 4px 10px; margin: 6px 0 12px; } .panel.open { display: block; }
details.message summary { cursor: pointer; font-size: 13px; } ol.changes li, ul.verdicts li { margin: 2px 0; }
.held { color: var(--ok); } .broken { color: var(--bad); }
`;

const LEGEND_COLOURS: Record<Outcome, string> = {
  delivered: '#2da44e',
  deferred: '#bf8700',
  reclassified: '#8250df',
  queued: '#fb8f44',
  returned: '#cf222e',
  deleted: '#6e7781',
  handedOff: '#54aeff',
  lost: '#000',
};

/** Opens the panel of a clicked bar (and closes the others of that direction). */
const SCRIPT = `
document.querySelectorAll('svg.over-time g.bucket').forEach(function(g){
  function open(){var id=g.getAttribute('data-panel');var svg=g.ownerSVGElement;
    svg.querySelectorAll('g.bucket.selected').forEach(function(s){s.classList.remove('selected');});
    document.querySelectorAll('.panel[data-direction="'+svg.getAttribute('data-direction')+'"]').forEach(function(p){p.classList.toggle('open',p.id===id);});
    g.classList.add('selected');}
  g.addEventListener('click',open);g.addEventListener('keydown',function(e){if(e.key==='Enter')open();});
});
`;

/**
 * The rehearsal as one offline page: per direction, its mail over time by outcome with the
 * changes marked and the checkpoints on the axis; a click on a bar lists that slice's messages,
 * each opening to its hop diagram.
 */
export function renderRehearsalHtml(result: RehearsalResult): string {
  const byMessage = new Map<string, TraceEvent[]>();
  const forwarded: TraceEvent[] = [];
  for (const e of result.trace ?? []) {
    if (e.type === 'forwarded') forwarded.push(e);
    else if ('messageId' in e) byMessage.set(e.messageId, [...(byMessage.get(e.messageId) ?? []), e]);
  }
  const directions = [...new Set(result.messages.map((m) => m.direction))];
  const legend = `<div class="legend-row">${OUTCOMES.map((o) => `<span><i style="background:${LEGEND_COLOURS[o]}"></i>${esc(LABEL[o])}</span>`).join('')}</div>`;
  const sections = directions.map((d) => {
    const buckets = bucketsOf(
      result.messages.filter((m) => m.direction === d),
      result.durationMs,
    );
    const panels = buckets
      .map((b, i) =>
        b.messages.length
          ? `<div class="panel" id="${esc(slug('b', d, i))}" data-direction="${esc(d)}"><h4>${esc(d)}, sent ${esc(formatMs(b.fromMs) || '0s')}–${esc(formatMs(b.toMs))}</h4>${b.messages.map((m) => messageHtml(m, result, byMessage, forwarded)).join('\n')}</div>`
          : '',
      )
      .join('\n');
    return `<section class="direction" id="${esc(slug('d', d))}"><h2>${esc(d)}</h2>${chart(d, buckets, result)}${panels}</section>`;
  });
  const changes = result.changes.map((c) => `<li>${esc(formatMs(c.atMs) || '0s')}: ${esc(c.say)}</li>`).join('');
  const verdicts = result.checkpoints
    .map(
      (c) =>
        `<li class="${c.passed ? 'held' : 'broken'}"><b>${c.passed ? 'PASS' : 'FAIL'}</b> ${esc(c.name)} (at ${esc(formatMs(c.atMs))})${c.failures.map((f) => `<br>${esc(f.check)}: expected ${esc(f.expected)}, got ${esc(f.actual)}`).join('')}</li>`,
    )
    .join('');
  const a = result.accounting;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>relaylab rehearsal — ${esc(result.plan)} ${result.passed ? 'passed' : 'failed'}</title>
<style>${STYLES}${PAGE_STYLES}</style>
</head>
<body>
<header class="run">
<h1>${esc(result.plan)} <span class="${result.passed ? 'badge-pass' : 'badge-fail'}">${result.passed ? 'PASS' : 'FAIL'}</span></h1>
<div class="muted">${esc(result.file)} · ${a.submitted} messages over ${esc(formatMs(result.durationMs))}: ${a.delivered} delivered, ${a.returned} returned, ${a.deleted} deleted, ${a.queued} still queued, ${a.lost} lost · ran in ${result.seconds.toFixed(1)} s</div>
</header>
<main>
<h3>Changes</h3><ol class="changes">${changes}</ol>
<h3>Checkpoints</h3><ul class="verdicts">${verdicts}</ul>
${legend}
${sections.join('\n')}
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
