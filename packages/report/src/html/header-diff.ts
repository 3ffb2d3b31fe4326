import { parseHeaders } from '@relaylab/core';
import { headerDiff, type HeaderStep } from '../header-steps';
import { esc } from './escape';

/** Folded header values are shown unfolded: the diff is about fields, not line breaks. */
const unfold = (v: string) => v.replace(/\r?\n[ \t]+/g, ' ');

/**
 * One node's header edits as an expandable diff: fields it added (green), removed (red, struck
 * through) and kept, each edit with the reason the node traced for it.
 */
export function headerStepHtml(step: HeaderStep, id: string, ordinal: number): string {
  const lines = headerDiff(step);
  const count = (kind: string) => lines.filter((l) => l.kind === kind).length;
  const [added, removed, changed, kept] = [count('added'), count('removed'), count('changed'), count('kept')];
  const marks = { added: '+', removed: '−', changed: '~', kept: ' ' } as const;
  const rows = lines.map((l) => {
    const was = l.previous !== undefined ? `<div class="was">was: ${esc(unfold(l.previous))}</div>` : '';
    return `<tr class="diff-${l.kind}"><td class="mark">${marks[l.kind]}</td><td class="hname">${esc(l.name)}</td><td class="hvalue">${esc(unfold(l.value))}${was}</td><td class="why">${esc(l.reason ?? '')}</td></tr>`;
  });
  const before = step.editsBefore.length
    ? `<p class="note-line">Before its ${step.kind} event this node also made: ${step.editsBefore.map((e) => `${esc(e.op)} ${esc(e.name)} (${esc(e.reason)})`).join('; ')}</p>`
    : '';
  const noHeaders = step.headersIn.length
    ? ''
    : '<p class="none">this trace has no headers as they arrived at this node (older trace); only its edits are known</p>';
  return `<details class="header-step${added || removed || changed ? ' changed' : ''}" id="${esc(id)}"><summary><span class="step-no">${ordinal}</span> at <b>${esc(step.node)}</b> (${esc(step.kind)}): <span class="count-added">+${added} added</span>, <span class="count-removed">−${removed} removed</span>, <span class="count-changed">~${changed} changed</span>, ${kept} kept</summary>${noHeaders}${before}<table class="diff"><thead><tr><th></th><th>field</th><th>value</th><th>why</th></tr></thead><tbody>${rows.join('')}</tbody></table></details>`;
}

/** The header section exactly as the mailbox holds it (Fate.storedHeaders), not a rebuild from the trace. */
export function deliveredHeadersHtml(node: string | undefined, stored: string | undefined): string {
  if (!node || stored === undefined) return '';
  const fields = parseHeaders(Buffer.from(stored, 'latin1'));
  return `<details class="delivered-headers"><summary>header of the message as stored at ${esc(node)} (${fields.length} fields)</summary><pre>${esc(stored.replace(/\r\n/g, '\n').trimEnd())}</pre></details>`;
}
