import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderHtml } from './html/page';
import { renderJson } from './json';
import { renderJunit } from './junit';
import type { Reporter, RunReport } from './run';

/** A reporter that renders the finished run into one file under the output folder. */
export class FileReporter implements Reporter {
  constructor(
    readonly name: string,
    private readonly file: string,
    private readonly render: (run: RunReport) => string,
    private readonly outputDir: string,
  ) {}

  finish(run: RunReport): string[] {
    const dir = resolve(this.outputDir);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, this.file);
    writeFileSync(path, this.render(run));
    return [path];
  }
}

export const FILE_REPORTERS = {
  json: { file: 'results.json', render: renderJson },
  junit: { file: 'junit.xml', render: renderJunit },
  html: { file: 'index.html', render: renderHtml },
} as const;
