import type { Topology, TraceEvent } from '@relaylab/core';
import type { Fate } from '@relaylab/lab';
import { headerSteps } from '../header-steps';
import { esc, slug } from './escape';
import { headerStepHtml } from './header-diff';
import { sequenceDiagram, sequenceRows } from './sequence-diagram';
import { topologyDiagram } from './topology-diagram';
import { verdictsHtml } from './verdicts';

/**
 * One message of a running lab as the HTML report draws it, per recipient: the sequence diagram,
 * every verdict with its reason, and the header diff at each node. `events` are this message's
 * trace events so far; the drawings are the report's own, so the live view and the report agree.
 */
export function liveMessageHtml(
  topology: Topology,
  events: readonly TraceEvent[],
  messageId: string,
  fates: ReadonlyArray<{ recipient: string; fate: Fate }>,
): string {
  return fates
    .map(({ recipient, fate }, n) => {
      const addresses = fate.addresses.length ? fate.addresses : [recipient];
      const steps = headerSteps(events, messageId, addresses);
      const rows = sequenceRows(events, messageId, fate, topology);
      const id = slug('live', n, recipient);
      const anchor = (i: number) => `${id}--h${i}`;
      return `<section class="recipient state-${esc(fate.state)}" data-recipient="${esc(recipient)}">
<h3>→ ${esc(recipient)} <span class="state ${fate.state === 'delivered' || fate.state === 'handedOff' ? 'badge-pass' : fate.state === 'unaccounted' || fate.state === 'deferred' ? 'badge-wait' : 'badge-fail'}">${esc(fate.state === 'unaccounted' ? 'in transit' : fate.state)}</span></h3>
<div class="diagram">${sequenceDiagram({ fate, rows, steps, topology, headerAnchor: anchor })}</div>
<h4>Verdicts and their reasons</h4>
${verdictsHtml(fate, rows)}
<h4>Headers at each hop</h4>
${steps.length ? steps.map((s, i) => headerStepHtml(s, anchor(i), i + 1)).join('\n') : '<p class="none">no header events for this recipient yet</p>'}
</section>`;
    })
    .join('\n');
}

/** The topology drawing of the report, with the connections the lab's messages made so far. */
export function liveTopologyHtml(topology: Topology, fates: readonly Fate[]): string {
  return topologyDiagram(topology, fates);
}
