import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Scenario, ScenarioResult } from '@relaylab/lab';
import { HTML_FORMAT } from './html/page';
import { JSON_FORMAT } from './json';
import { JUNIT_FORMAT } from './junit';
import type { Reporter, RunReport, RunTiming } from './run';
import { SpooledFile, type StreamedFormat } from './streamed';

/**
 * A reporter that writes the run into one file, a scenario at a time. A part that cannot be
 * spooled does not stop the run: the report is given up and `finish` throws why.
 */
export class FileReporter<T> implements Reporter {
  private readonly file: SpooledFile<T>;
  private failure?: Error;
  private heard = false;
  private readonly path: string;

  constructor(
    readonly name: string,
    path: string,
    format: StreamedFormat<T>,
    /** Make the file's folder at the end if it is missing (report folders), or fail (a file the user named). */
    private readonly makeFolder = false,
  ) {
    this.path = resolve(path);
    this.file = new SpooledFile(this.path, format);
  }

  start(scenarios: readonly Scenario[], startedAt?: string): void {
    this.file.start(scenarios, startedAt);
  }

  result(r: ScenarioResult): void {
    this.heard = true;
    if (this.failure) return;
    try {
      this.file.add(r);
    } catch (e) {
      this.failure = e as Error;
      this.file.discard();
    }
  }

  /** A run handed whole at the end (no scenario heard as it ended) is written from its results. */
  finish(run: RunTiming | RunReport): string[] {
    if (!this.heard && 'results' in run) {
      this.start(
        run.results.map((r) => r.scenario),
        run.startedAt,
      );
      run.results.forEach((r) => this.result(r));
    }
    try {
      if (this.failure) throw this.failure;
      if (this.makeFolder) mkdirSync(dirname(this.path), { recursive: true });
    } catch (e) {
      this.file.discard();
      throw e;
    }
    return [this.file.finish(run)];
  }
}

export const FILE_REPORTERS = {
  json: { file: 'results.json', format: JSON_FORMAT },
  junit: { file: 'junit.xml', format: JUNIT_FORMAT },
  html: { file: 'index.html', format: HTML_FORMAT },
} as const;
