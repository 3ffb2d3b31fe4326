import type { TraceEvent } from '@relaylab/core';
import { esc } from './escape';

/**
 * Any value as nested key/value tables. Reports render trace events and hops through this, so
 * fields added to the trace later (classification, rules, …) show up without a reporter change.
 */
export function renderValue(value: unknown, depth = 0): string {
  if (value === undefined || value === null) return '<span class="none">—</span>';
  if (typeof value !== 'object') return `<span class="v">${esc(value)}</span>`;
  if (Array.isArray(value)) {
    if (!value.length) return '<span class="none">[]</span>';
    if (value.every((v) => typeof v !== 'object' || v === null)) return `<span class="v">${value.map(esc).join(', ')}</span>`;
    return `<ol class="list">${value.map((v) => `<li>${renderValue(v, depth + 1)}</li>`).join('')}</ol>`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (!entries.length) return '<span class="none">{}</span>';
  if (depth > 6) return `<code>${esc(JSON.stringify(value))}</code>`;
  return `<table class="kv">${entries.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${renderValue(v, depth + 1)}</td></tr>`).join('')}</table>`;
}

/** The one-line gist of an event, for the row that the details expand from. */
function gist(e: TraceEvent): string {
  const r = e as unknown as Record<string, unknown>;
  const parts: string[] = [];
  if (e.type === 'header') parts.push(`${e.op} ${e.name}${e.value !== undefined ? `: ${e.value}` : ''}`);
  for (const key of ['outcome', 'reply', 'mailbox', 'connector', 'reason']) {
    if (typeof r[key] === 'string' && r[key]) parts.push(String(r[key]));
  }
  return parts.join(' · ');
}

/** Every trace event, one expandable row each, showing all of its fields. */
export function renderEvents(events: readonly TraceEvent[]): string {
  if (!events.length) return '<p class="none">no trace events</p>';
  const rows = events.map(
    (e) =>
      `<details class="event ev-${esc(e.type)}"><summary><span class="at" title="lab time${e.realAt ? `; real time ${esc(e.realAt)}` : ''}">lab ${esc(e.at)}${e.realAt ? ` · real ${esc(e.realAt)}` : ''}</span> <b>${esc(e.node)}</b> <span class="type">${esc(e.type)}</span> ${esc(gist(e))}</summary>${renderValue(e)}</details>`,
  );
  return rows.join('\n');
}
