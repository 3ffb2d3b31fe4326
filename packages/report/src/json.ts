import { trackingRow } from '@relaylab/core';
import type { RunReport } from './run';

/** Bump when a consumer would have to change how it reads the file. */
export const JSON_REPORT_VERSION = 2;

/**
 * The whole run as one JSON document: every scenario with its topology, per-expectation verdicts,
 * fates and the complete trace. Trace events are copied as they are, so fields added to the trace
 * later appear here without a change to this reporter; each carries the message-tracking row it
 * stands for (`tracking: { eventId, source }`), Exchange's vocabulary for the same fact.
 */
export function renderJson(run: RunReport): string {
  const passed = run.results.filter((r) => r.passed).length;
  const doc = {
    tool: 'relaylab',
    version: JSON_REPORT_VERSION,
    startedAt: run.startedAt,
    durationMs: run.durationMs,
    summary: { scenarios: run.results.length, passed, failed: run.results.length - passed },
    scenarios: run.results.map((r) => ({
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
    })),
  };
  return `${JSON.stringify(doc, replacer, 2)}\n`;
}

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
