import { trackingRow, type TraceEvent } from '@relaylab/core';
import type { ScenarioResult } from '@relaylab/lab';
import type { RunReport } from './run';
import { renderWhole, type StreamedFormat } from './streamed';

/** Bump when a consumer would have to change how it reads the file. */
export const JSON_REPORT_VERSION = 2;

/**
 * The whole run as one JSON document: every scenario with its topology, per-expectation verdicts,
 * fates and the complete trace. Trace events are copied as they are, so fields added to the trace
 * later appear here without a change to this reporter; each carries the message-tracking row it
 * stands for (`tracking: { eventId, source }`), Exchange's vocabulary for the same fact.
 */
export function renderJson(run: RunReport): string {
  return renderWhole(JSON_FORMAT, run);
}

/** Where the scenarios (or a scenario's events) go; a string no report holds, as JSON escapes NUL. */
const SLOT = '\u0000slot\u0000';
/** A scenario's lines sit two levels deep: in `scenarios`, in the document. */
const DEPTH = '    ';

function scenarioJson(r: ScenarioResult): object {
  return {
    name: r.scenario.name,
    file: r.scenario.file,
    description: r.scenario.description,
    passed: r.passed,
    checks: r.checks,
    durationMs: r.durationMs,
    error: r.error,
    unaccounted: r.unaccounted,
    failures: r.failures,
    expectations: r.expectations,
    messageIds: r.messageIds,
    fates: r.fates,
    scenario: r.scenario,
    trace: r.trace.length ? [SLOT] : [],
  };
}

/** A trace event as the report holds it: with the message-tracking row it stands for. */
const eventJson = (e: TraceEvent) => JSON.stringify({ ...e, tracking: trackingRow(e) }, replacer, 2);

/** Splits stringified JSON around the placeholder line at this indentation. */
function around(json: string, indent: string): [string, string] {
  const slot = `${indent}${JSON.stringify(SLOT)}`;
  const at = json.indexOf(slot);
  return [json.slice(0, at), json.slice(at + slot.length)];
}

/** A scenario's JSON a trace event at a time, indented to where it sits in the document. */
function* scenarioPieces(r: ScenarioResult): Generator<string> {
  const indent = (json: string, by: string) => by + json.replace(/\n/g, `\n${by}`);
  const whole = indent(JSON.stringify(scenarioJson(r), replacer, 2), DEPTH);
  if (!r.trace.length) return yield whole;
  // the trace's events sit two levels below the scenario: in `trace`, in the scenario
  const eventDepth = `${DEPTH}    `;
  const [head, tail] = around(whole, eventDepth);
  yield head;
  let first = true;
  for (const e of r.trace) {
    yield `${first ? '' : ',\n'}${indent(eventJson(e), eventDepth)}`;
    first = false;
  }
  yield tail;
}

/**
 * The document is rendered once around a placeholder for its scenarios, each scenario on its own
 * as its run ends and indented to where it sits, so a streamed file and a whole render are the same bytes.
 */
export const JSON_FORMAT: StreamedFormat<boolean> = {
  part: (r) => ({ text: scenarioPieces(r), tally: r.passed }),
  frame(run, passedEach) {
    const passed = passedEach.filter(Boolean).length;
    const doc = {
      tool: 'relaylab',
      version: JSON_REPORT_VERSION,
      startedAt: run.startedAt,
      durationMs: run.durationMs,
      summary: { scenarios: passedEach.length, passed, failed: passedEach.length - passed },
      scenarios: passedEach.length ? [SLOT] : [],
    };
    const whole = `${JSON.stringify(doc, replacer, 2)}\n`;
    if (!passedEach.length) return { head: whole, separator: '', tail: '' };
    const [head, tail] = around(whole, DEPTH);
    return { head, separator: ',\n', tail };
  },
};

/** Buffers (raw messages) as text, so the file stays readable; Maps and Sets as plain JSON. */
function replacer(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return Buffer.from((value as { data: number[] }).data).toString('latin1');
  }
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  if (typeof value === 'bigint') return value.toString();
  return value;
}
