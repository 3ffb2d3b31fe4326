import type { Fate } from '@relaylab/lab';
import { esc } from './escape';
import { renderValue } from './generic';
import { classificationLine, finalLine, tlsLine, type SequenceRow } from './sequence-diagram';

/** Hop fields the verdict list already states in words; the rest go to the generic details. */
const STATED = new Set(['from', 'to', 'tls', 'tlsDecision', 'inboundReason', 'outboundConnector', 'inboundConnector']);

/** Every decision on the way with the reason the deciding node gave, in the order they were made. */
export function verdictsHtml(fate: Fate, rows: readonly SequenceRow[]): string {
  const items: string[] = [];
  const classification = (fate.submission as { reason?: string } | undefined)?.reason;
  if (classification) items.push(`<li><b>${esc(fate.path[0])}</b> classified the submission: ${esc(classification)}</li>`);
  for (const r of rows) {
    if (r.kind === 'hop') {
      const h = r.hop;
      const c = h.classification as { reason?: string } | undefined;
      const extra = Object.fromEntries(Object.entries(h).filter(([k, v]) => !STATED.has(k) && v !== undefined));
      items.push(
        `<li class="ok"><b>${esc(h.from)} → ${esc(h.to)}</b> over ${esc(tlsLine(h))}` +
          `<ul><li>sending side, connector <i>${esc(h.outboundConnector)}</i>: ${esc(h.tlsDecision)}</li>` +
          `<li>receiving side, connector <i>${esc(h.inboundConnector ?? '(none)')}</i>: ${esc(h.inboundReason || '(no reason traced)')}</li>` +
          (classificationLine(h) ? `<li>classification: ${esc(classificationLine(h))}${c?.reason ? ` — ${esc(c.reason)}` : ''}</li>` : '') +
          `</ul><details class="hop-details"><summary>all hop fields</summary>${renderValue(extra)}</details></li>`,
      );
    } else {
      const a = r.attempt;
      items.push(
        `<li class="bad"><b>${esc(a.node)} → ${esc(r.to)}</b> ${esc(a.outcome)} at lab time ${esc(a.at)}${a.realAt ? ` (real ${esc(a.realAt)})` : ''}: connector <i>${esc(a.connector)}</i>; ${esc(a.tlsDecision)}${a.replies.length ? `; replies: ${esc(a.replies.join(' | '))}` : ''}` +
          `<details class="hop-details"><summary>all attempt fields</summary>${renderValue(a)}</details></li>`,
      );
    }
  }
  items.push(
    `<li class="final final-${esc(fate.state)}"><b>final</b>: ${esc(finalLine(fate))}${fate.node ? ` at ${esc(fate.node)}` : ''}${fate.reason ? ` — ${esc(fate.reason)}` : ''}</li>`,
  );
  return `<ol class="verdicts">${items.join('')}</ol>`;
}
