import { trackingRow } from '@relaylab/core';
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
    trace: r.trace.map((e) => ({ ...e, tracking: trackingRow(e) })),
  };
}

/** Where the scenarios go in the document; a string no scenario can produce once stringified. */
const SLOT = '\u0000scenarios\u0000';
/** A scenario's lines sit two levels deep: in `scenarios`, in the document. */
const DEPTH = '    ';

/**
 * The document is rendered once around a placeholder for its scenarios, each scenario on its own
 * as its run ends and indented to where it sits, so a streamed file and a whole render are the same bytes.
 */
export const JSON_FORMAT: StreamedFormat<boolean> = {
  part: (r) => ({
    text: DEPTH + JSON.stringify(scenarioJson(r), replacer, 2).replace(/\n/g, `\n${DEPTH}`),
    tally: r.passed,
  }),
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
    const slot = `${DEPTH}${JSON.stringify(SLOT)}`;
    const at = whole.indexOf(slot);
    return { head: whole.slice(0, at), separator: ',\n', tail: whole.slice(at + slot.length) };
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
