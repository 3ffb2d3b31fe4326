import type { Scenario, ScenarioResult } from '@relaylab/lab';

/** One `relaylab run`: what every reporter receives at the end. */
export interface RunReport {
  startedAt: string;
  durationMs: number;
  results: ScenarioResult[];
}

/**
 * A reporter hears about the run as it happens (for progress) and renders it at the end.
 * `finish` returns the files it wrote, so the command can say where they are.
 */
export interface Reporter {
  readonly name: string;
  start?(scenarios: readonly Scenario[]): void;
  result?(result: ScenarioResult): void;
  finish(run: RunReport): string[];
}

export function summaryLine(results: readonly ScenarioResult[]): string {
  const passed = results.filter((r) => r.passed).length;
  return `${passed} passed, ${results.length - passed} failed`;
}
