import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { trackingRow } from '@relaylab/core';
import { loadScenarios, runScenarios, type Scenario } from '@relaylab/lab';
import { Pki } from '@relaylab/pki';
import { createReporters, DEFAULT_OUTPUT_DIR, parseReporterNames, summaryLine, type ReporterName } from '@relaylab/report';
import { labCommand } from './commands';
import { cliVersion } from './version';

const HELP = `relaylab — an Exchange hybrid mail lab of real SMTP servers on loopback

Usage:
  relaylab run [paths...] [options]   run scenario files or folders (default: scenarios/)
  relaylab up <topology>              start a lab and keep it up (table of nodes, live hops, .eml mailboxes)
  relaylab node --config <t> --node <n>  run one node in this process (one container per node)
  relaylab dns --config <topology>    serve the topology's MX and A records (UDP and TCP)
  relaylab certs --config <topology>  make the topology's certificates before starting nodes
  relaylab drive [paths...]           run scenarios with each node in its own process (or --attach)
  relaylab <command> --help           the options of up, node, dns, certs and drive
  relaylab --version, -V              print relaylab's version

Options for run:
  --list               print the scenarios with their description and exit
  --grep <regex>       run only scenarios whose name or description matches
  --concurrency <n>    scenarios run side by side (default 4)
  --certs <dir>        certificate cache (default: ./certs, or $RELAYLAB_CERTS)
  --trace <file>       write every trace event (hops, TLS, connectors, replies, header edits)
                       as JSON lines, each tagged with its scenario
  --reporter <list>    pretty, json, junit, html; several comma-separated or repeated (default pretty)
  --output <dir>       where json (results.json), junit (junit.xml) and html (index.html) are
                       written (default ${DEFAULT_OUTPUT_DIR}/)
  --verbose            node logs (pino) on stderr
  -h, --help           this help

Exit codes: 0 all scenarios passed; 1 a scenario failed; 2 bad input or usage
(a malformed scenario is reported with file:line:column and the field, before anything starts).
`;

export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const [command, ...rest] = argv;
  if (!command) {
    err.write(HELP);
    return 2;
  }
  if (command === '-h' || command === '--help' || command === 'help') {
    out.write(HELP);
    return 0;
  }
  if (command === '--version' || command === '-V') {
    out.write(`${cliVersion()}\n`);
    return 0;
  }
  const other = labCommand(command);
  if (other) return other(rest, { out, err });
  if (command !== 'run') {
    err.write(`relaylab: unknown command "${command}"\n\n${HELP}`);
    return 2;
  }
  let args;
  try {
    args = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        list: { type: 'boolean' },
        grep: { type: 'string' },
        concurrency: { type: 'string' },
        certs: { type: 'string' },
        verbose: { type: 'boolean' },
        trace: { type: 'string' },
        reporter: { type: 'string', multiple: true },
        output: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    err.write(`relaylab run: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (args.values.help) {
    out.write(HELP);
    return 0;
  }
  let reporterNames: ReporterName[];
  try {
    reporterNames = parseReporterNames(args.values.reporter ?? []);
  } catch (e) {
    err.write(`relaylab run: --reporter: ${(e as Error).message}\n`);
    return 2;
  }
  const paths = args.positionals.length ? args.positionals : ['scenarios'];
  let loaded;
  try {
    loaded = loadScenarios(paths);
  } catch (e) {
    err.write(`relaylab run: ${(e as Error).message}\n`);
    return 2;
  }
  if (loaded.errors.length) {
    for (const e of loaded.errors) err.write(`${e.message}\n`);
    err.write(`relaylab run: ${loaded.errors.length} file(s) are not valid; nothing was run\n`);
    return 2;
  }
  let scenarios: Scenario[] = loaded.scenarios;
  if (args.values.grep) {
    let re: RegExp;
    try {
      re = new RegExp(args.values.grep, 'i');
    } catch (e) {
      err.write(`relaylab run: --grep: ${(e as Error).message}\n`);
      return 2;
    }
    scenarios = scenarios.filter((s) => re.test(s.name) || re.test(s.description ?? ''));
  }
  if (args.values.list) {
    for (const s of scenarios) out.write(`${s.name}\t${(s.description ?? '').split('\n')[0]}\n`);
    return 0;
  }
  if (!scenarios.length) {
    err.write(`relaylab run: no scenarios found in ${paths.join(', ')}${args.values.grep ? ` matching /${args.values.grep}/` : ''}\n`);
    return 2;
  }
  const concurrency = Number(args.values.concurrency ?? 4);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    err.write(`relaylab run: --concurrency expects a positive whole number, got "${args.values.concurrency}"\n`);
    return 2;
  }
  const certsDir = resolve(args.values.certs ?? process.env.RELAYLAB_CERTS ?? 'certs');
  const logger = args.values.verbose ? pino({ level: 'debug' }, pino.destination(2)) : undefined;
  const useColor = !!(out as NodeJS.WriteStream).isTTY && !process.env.NO_COLOR;
  const pki = new Pki({ dir: certsDir });
  const reporters = createReporters(reporterNames, { outputDir: args.values.output, out, color: useColor, live: !!(out as NodeJS.WriteStream).isTTY });
  for (const r of reporters) r.start?.(scenarios);
  const startedAt = new Date();
  const results = await runScenarios(scenarios, {
    certsDir,
    pki,
    logger,
    concurrency,
    onResult: (result) => reporters.forEach((r) => r.result?.(result)),
  });
  const run = { startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), results };
  let writeFailed = false;
  for (const reporter of reporters) {
    try {
      for (const file of reporter.finish(run)) out.write(`report: ${file}\n`);
    } catch (e) {
      err.write(`relaylab run: a report could not be written: ${(e as Error).message}\n`);
      writeFailed = true;
    }
  }
  if (args.values.trace) {
    const lines = results.flatMap((r) => r.trace.map((e) => JSON.stringify({ scenario: r.scenario.name, ...e, tracking: trackingRow(e) })));
    try {
      writeFileSync(resolve(args.values.trace), lines.length ? `${lines.join('\n')}\n` : '');
    } catch (e) {
      // the run itself is done: say what could not be written and still print its summary
      err.write(`relaylab run: --trace: ${(e as Error).message}\n`);
      writeFailed = true;
    }
  }
  out.write(`\ncertificates: ${pki.reused.length} reused from ${certsDir}, ${pki.generated.length} generated\n`);
  out.write(`\n${summaryLine(results)}\n`);
  if (!results.every((r) => r.passed)) return 1;
  return writeFailed ? 2 : 0;
}
