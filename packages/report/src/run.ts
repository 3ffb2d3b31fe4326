import type { Scenario, ScenarioResult } from '@relaylab/lab';

/** When a `relaylab run` started and how long it took: all a reporter is told at the end. */
export interface RunTiming {
  startedAt: string;
  durationMs: number;
}

/** One `relaylab run` with every result, as the render functions take it. */
export interface RunReport extends RunTiming {
  results: ScenarioResult[];
}

/**
 * A reporter hears about each scenario as it ends (progress, and the part of its report that
 * scenario makes, so no reporter needs the run's results kept until the end) and finishes the
 * report once the run is over. `finish` returns the files it wrote, so the command can say where they are.
 */
export interface Reporter {
  readonly name: string;
  /** `startedAt` as the run will give it to `finish`, for reports that repeat it per scenario. */
  start?(scenarios: readonly Scenario[], startedAt?: string): void;
  result?(result: ScenarioResult): void;
  /** Given a whole RunReport instead, a reporter that heard no scenario renders its results. */
  finish(run: RunTiming | RunReport): string[];
}

export function summaryLine(results: readonly ScenarioResult[]): string {
  const passed = results.filter((r) => r.passed).length;
  return `${passed} passed, ${results.length - passed} failed`;
}
