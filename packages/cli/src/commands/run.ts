import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { describeNotSimulated } from '@relaylab/core';
import { loadScenarios, notSimulatedIn, runScenarios, type Scenario, type ScenarioResult } from '@relaylab/lab';
import { Pki } from '@relaylab/pki';
import { createReporters, parseReporterNames, FileReporter, summaryLine, TRACE_LINES_FORMAT, type ReporterName } from '@relaylab/report';
import { RUN_HELP } from './run-help';
import { guarded, InputError, UsageError, type Io } from './shared';

export { RUN_HELP };

const OPTIONS = {
  list: { type: 'boolean' },
  grep: { type: 'string' },
  concurrency: { type: 'string' },
  certs: { type: 'string' },
  verbose: { type: 'boolean' },
  trace: { type: 'string' },
  reporter: { type: 'string', multiple: true },
  output: { type: 'string' },
  'settle-timeout': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The scenarios to run: loaded, valid, filtered by --grep; bad input is an InputError. */
function selectScenarios(paths: string[], grep: string | undefined, io: Io): Scenario[] {
  let loaded;
  try {
    loaded = loadScenarios(paths);
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  if (loaded.errors.length) {
    for (const e of loaded.errors) io.err.write(`${e.message}\n`);
    throw new InputError(`${loaded.errors.length} file(s) are not valid; nothing was run`);
  }
  const notSimulated = describeNotSimulated(loaded.scenarios.flatMap((s) => notSimulatedIn(s.topology)));
  if (notSimulated) io.err.write(`${notSimulated}\n`);
  if (!grep) return loaded.scenarios;
  let re: RegExp;
  try {
    re = new RegExp(grep, 'i');
  } catch (e) {
    throw new InputError(`--grep: ${(e as Error).message}`);
  }
  return loaded.scenarios.filter((s) => re.test(s.name) || re.test(s.description ?? ''));
}

export function runCommand(args: string[], io: Io): Promise<number> {
  return guarded('run', io, RUN_HELP, async () => {
    let parsed;
    try {
      parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      io.out.write(RUN_HELP);
      return 0;
    }
    let reporterNames: ReporterName[];
    try {
      reporterNames = parseReporterNames(values.reporter ?? []);
    } catch (e) {
      throw new InputError(`--reporter: ${(e as Error).message}`);
    }
    const paths = positionals.length ? positionals : ['scenarios'];
    const grep = values.grep;
    const scenarios = selectScenarios(paths, grep, io);
    if (values.list) {
      for (const s of scenarios) io.out.write(`${s.name}\t${(s.description ?? '').split('\n')[0]}\n`);
      return 0;
    }
    if (!scenarios.length) throw new InputError(`no scenarios found in ${paths.join(', ')}${grep ? ` matching /${grep}/` : ''}`);
    const concurrency = Number(values.concurrency ?? 4);
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`--concurrency expects a positive whole number, got "${values.concurrency}"`);

    const settleSeconds = Number(values['settle-timeout'] ?? 30);
    if (!Number.isFinite(settleSeconds) || settleSeconds <= 0)
      throw new UsageError(`--settle-timeout expects a number of seconds above 0, got "${values['settle-timeout']}"`);

    const certsDir = resolve(values.certs ?? process.env.RELAYLAB_CERTS ?? 'certs');
    const logger = values.verbose ? pino({ level: 'debug' }, pino.destination(2)) : undefined;
    const tty = !!(io.out as NodeJS.WriteStream).isTTY;
    const pki = new Pki({ dir: certsDir });
    const reporters = createReporters(reporterNames, { outputDir: values.output, out: io.out, color: tty && !process.env.NO_COLOR, live: tty });
    const traceFile = values.trace ? new FileReporter('trace', values.trace, TRACE_LINES_FORMAT) : undefined;
    const startedAt = new Date();
    for (const r of reporters) r.start?.(scenarios, startedAt.toISOString());
    traceFile?.start(scenarios);
    // Each scenario is reported as it ends, its trace written out by every reporter that needs it;
    // the run keeps its verdicts only, so memory follows the scenarios in flight, not those done.
    const onResult = (result: ScenarioResult) => [...reporters, ...(traceFile ? [traceFile] : [])].forEach((r) => r.result?.(result));
    const results = await runScenarios(scenarios, { certsDir, pki, logger, concurrency, onResult, keep: 'verdicts', settleTimeoutMs: settleSeconds * 1000 });
    const run = { startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime() };

    // The run itself is done: what cannot be written is said in one line, and the summary still prints.
    let writeFailed = false;
    for (const reporter of reporters) {
      try {
        for (const file of reporter.finish(run)) io.out.write(`report: ${file}\n`);
      } catch (e) {
        io.err.write(`relaylab run: a report could not be written: ${(e as Error).message}\n`);
        writeFailed = true;
      }
    }
    if (traceFile) {
      try {
        traceFile.finish(run);
      } catch (e) {
        io.err.write(`relaylab run: --trace: ${(e as Error).message}\n`);
        writeFailed = true;
      }
    }
    io.out.write(`\ncertificates: ${pki.reused.length} reused from ${certsDir}, ${pki.generated.length} generated\n`);
    io.out.write(`\n${summaryLine(results)}\n`);
    if (!results.every((r) => r.passed)) return 1;
    return writeFailed ? 2 : 0;
  });
}
