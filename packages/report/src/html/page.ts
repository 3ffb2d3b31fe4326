import type { TraceEvent } from '@relaylab/core';
import type { ExpectationResult, ScenarioResult } from '@relaylab/lab';
import { headerSteps } from '../header-steps';
import type { RunReport } from '../run';
import { renderWhole, type StreamedFormat } from '../streamed';
import { esc, slug } from './escape';
import { renderEvents } from './generic';
import { deliveredHeadersHtml, headerStepHtml } from './header-diff';
import { sequenceDiagram, sequenceRows } from './sequence-diagram';
import { STYLES } from './styles';
import { topologyDiagram } from './topology-diagram';
import { verdictsHtml } from './verdicts';

const show = (v: unknown) => (v === undefined ? '(nothing)' : typeof v === 'string' ? v : JSON.stringify(v));

function expectationsHtml(results: ExpectationResult[]): string {
  if (!results.length) return '<p class="none">no expectations</p>';
  const rows = results.map((e) => {
    const failures = e.failures
      .map(
        (f) =>
          `<div class="failure">${esc(f.field)}: expected <span class="exp">${esc(show(f.expected))}</span>, actual <span class="act">${esc(show(f.actual))}</span></div>`,
      )
      .join('');
    return `<tr class="${e.passed ? 'pass' : 'fail'}"><td class="result">${e.passed ? '✓' : '✗'}</td><td>${esc(e.name)}</td><td>${e.checks}</td><td>${failures}</td></tr>`;
  });
  return `<table class="expectations"><thead><tr><th></th><th>expectation</th><th>checks</th><th>expected against actual</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** The events of each message, by Message-ID: read once, not once per message (a scenario may hold thousands). */
function eventsByMessage(trace: readonly TraceEvent[]): Map<string, TraceEvent[]> {
  const by = new Map<string, TraceEvent[]>();
  for (const e of trace) {
    if (!('messageId' in e) || typeof e.messageId !== 'string') continue;
    const list = by.get(e.messageId);
    if (list) list.push(e);
    else by.set(e.messageId, [e]);
  }
  return by;
}

function messageHtml(r: ScenarioResult, entry: ScenarioResult['fates'][number], failed: boolean, sid: string, byMessage: Map<string, TraceEvent[]>): string {
  const { fate } = entry;
  const spec = r.scenario.messages.find((m) => m.id === entry.message);
  const messageId = r.messageIds[entry.message];
  const addresses = fate.addresses?.length ? fate.addresses : [entry.recipient];
  // every event of the message, the only ones header steps and sequence rows read
  const events = (messageId && byMessage.get(messageId)) || [];
  const steps = messageId ? headerSteps(events, messageId, addresses) : [];
  const rows = messageId ? sequenceRows(events, messageId, fate, r.scenario.topology) : [];
  const mid = `${sid}--${slug(entry.message, entry.recipient)}`;
  const anchor = (i: number) => `${mid}--h${i}`;
  return `<div class="message state-${esc(fate.state)}${failed ? ' failed-expectation' : ''}" id="${esc(mid)}">
<h3>${esc(entry.message)} → ${esc(entry.recipient)} <span class="${fate.state === 'delivered' || fate.state === 'handedOff' ? 'badge-pass' : 'badge-fail'}">${esc(fate.state)}</span></h3>
<p class="muted">${esc(spec ? `${spec.from} via ${spec.via}${spec.subject ? `, “${spec.subject}”` : ''}` : '')} · ${esc(messageId ?? 'no Message-ID')}</p>
<div class="diagram">${sequenceDiagram({ fate, rows, steps, topology: r.scenario.topology, headerAnchor: anchor })}</div>
<h4>Verdicts and their reasons</h4>
${verdictsHtml(fate, rows)}
<h4>Headers at each hop</h4>
${steps.length ? steps.map((s, i) => headerStepHtml(s, anchor(i), i + 1)).join('\n') : '<p class="none">no header events for this message</p>'}
${fate.state === 'delivered' ? deliveredHeadersHtml(fate.node, fate.storedHeaders) : ''}
<details class="events"><summary>every trace event of this message (${events.length})</summary>${renderEvents(events)}</details>
</div>`;
}

/** A scenario's section in pieces, a message at a time, so a scenario of many messages is never one string. */
function* scenarioHtml(r: ScenarioResult): Generator<string> {
  const sid = slug('s', r.scenario.name);
  const expectations = r.expectations;
  const failing = new Set(expectations.filter((e) => !e.passed).map((e) => `${e.message}\u0000${e.recipient.toLowerCase()}`));
  const problems = [
    r.error ? `<p class="failure act">error: ${esc(r.error)}</p>` : '',
    ...r.unaccounted.map((u) => `<p class="failure act">not accounted for: ${esc(u)}</p>`),
  ].join('');
  const unrelated = r.trace.filter((e) => !('messageId' in e));
  yield `<section class="scenario ${r.passed ? 'passed' : 'failed'}" id="${esc(sid)}">
<h2>${esc(r.scenario.name)} <span class="${r.passed ? 'badge-pass' : 'badge-fail'}">${r.passed ? 'PASS' : 'FAIL'}</span></h2>
<p class="file">${esc(r.scenario.file)} · ${r.checks} checks · ${r.durationMs} ms${r.scenario.topologyFile ? ` · topology ${esc(r.scenario.topologyFile)}` : ''}</p>
${r.scenario.description ? `<p>${esc(r.scenario.description)}</p>` : ''}
${problems}
<h4>Topology and the connections made</h4>
<div class="diagram">${topologyDiagram(
    r.scenario.topology,
    r.fates.map((f) => f.fate),
  )}</div>
<h4>Expectations</h4>
${expectationsHtml(expectations)}
`;
  const byMessage = eventsByMessage(r.trace);
  let first = true;
  for (const f of r.fates) {
    yield `${first ? '' : '\n'}${messageHtml(r, f, failing.has(`${f.message}\u0000${f.recipient.toLowerCase()}`), sid, byMessage)}`;
    first = false;
  }
  yield `
${unrelated.length ? `<details class="events"><summary>connection events not tied to a message (${unrelated.length})</summary>${renderEvents(unrelated)}</details>` : ''}
</section>`;
}

/** Opens the header diff a diagram badge points at (details elements do not open on :target). */
const SCRIPT = `
function openTarget(){var id=decodeURIComponent(location.hash.slice(1));var el=id&&document.getElementById(id);if(el&&el.tagName==='DETAILS'){el.open=true;}}
window.addEventListener('hashchange',openTarget);openTarget();
function toggleAll(open){document.querySelectorAll('details.header-step').forEach(function(d){d.open=open;});}
`;

export interface TocEntry {
  name: string;
  passed: boolean;
}

/** One self-contained HTML page: inline CSS, SVG and a few lines of script; nothing is fetched. */
export const HTML_FORMAT: StreamedFormat<TocEntry> = {
  part: (r) => ({ text: scenarioHtml(r), tally: { name: r.scenario.name, passed: r.passed } }),
  frame(run, entries) {
    const passed = entries.filter((e) => e.passed).length;
    const toc = entries.map((e) => `<a href="#${esc(slug('s', e.name))}">${e.passed ? '✓' : '✗'} ${esc(e.name)}</a>`).join(' ');
    const head = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>relaylab report — ${passed} passed, ${entries.length - passed} failed</title>
<style>${STYLES}</style>
</head>
<body>
<header class="run">
<h1>relaylab report <span class="${passed === entries.length ? 'badge-pass' : 'badge-fail'}">${passed} passed, ${entries.length - passed} failed</span></h1>
<div class="muted">started ${esc(run.startedAt)} · ${run.durationMs} ms · ${entries.length} scenarios
<button class="toggle" onclick="toggleAll(true)">expand all header diffs</button><button class="toggle" onclick="toggleAll(false)">collapse</button></div>
<nav class="toc">${toc}</nav>
</header>
<main>
`;
    const tail = `
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
    return { head, separator: '\n', tail };
  },
};

export function renderHtml(run: RunReport): string {
  return renderWhole(HTML_FORMAT, run);
}
