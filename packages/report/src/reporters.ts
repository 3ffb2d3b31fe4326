import { join } from 'node:path';
import { FILE_REPORTERS, FileReporter } from './files';
import { PrettyReporter } from './pretty';
import type { Reporter } from './run';
import type { StreamedFormat } from './streamed';

export const REPORTER_NAMES = ['pretty', 'json', 'junit', 'html'] as const;
export type ReporterName = (typeof REPORTER_NAMES)[number];

export const DEFAULT_OUTPUT_DIR = 'relaylab-report';

/** `pretty,json` or repeated options → the names, validated; throws with the valid names otherwise. */
export function parseReporterNames(values: readonly string[]): ReporterName[] {
  const names = values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(REPORTER_NAMES as readonly string[]).includes(n));
  if (unknown.length) throw new Error(`unknown reporter ${unknown.map((u) => `"${u}"`).join(', ')}; choose from ${REPORTER_NAMES.join(', ')}`);
  return names.length ? [...new Set(names as ReporterName[])] : ['pretty'];
}

export interface ReporterOptions {
  /** Where file reporters write (default `relaylab-report/`). */
  outputDir?: string;
  /** Where `pretty` prints. */
  out: NodeJS.WritableStream;
  color: boolean;
  /** Whether `out` is a terminal, so progress may redraw one line. */
  live: boolean;
}

export function createReporters(names: readonly ReporterName[], o: ReporterOptions): Reporter[] {
  return names.map((name) =>
    name === 'pretty' ? new PrettyReporter({ out: o.out, color: o.color, live: o.live }) : fileReporter(name, o.outputDir ?? DEFAULT_OUTPUT_DIR),
  );
}

function fileReporter(name: keyof typeof FILE_REPORTERS, outputDir: string): Reporter {
  const { file, format } = FILE_REPORTERS[name];
  return new FileReporter<unknown>(name, join(outputDir, file), format as StreamedFormat<unknown>, true);
}
