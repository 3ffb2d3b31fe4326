import { resolve } from 'node:path';
import { loadScenarios, runScenariosOnProcesses, type Scenario } from '@relaylab/lab';
import { formatResult, summaryLine } from '@relaylab/report';
import { ALLOW_NON_LOOPBACK, checkBind } from './loopback';
import { guarded, intOption, parseWithEnv, UsageError, type Io } from './shared';

export const DRIVE_HELP = `Usage: relaylab drive [paths...] [options]

Runs scenarios against a lab whose nodes are separate processes: by default it starts, per
scenario, the DNS service and one \`relaylab node\` process per node on the topology's addresses;
with --attach it drives nodes that already run (the runner service of docker-compose.yml).
Results and exit codes are those of \`relaylab run\`.

  --attach             drive running nodes through their control API instead of spawning them
  --config <file>      only the scenarios on this topology file, the one the running nodes
                       serve (RELAYLAB_CONFIG; how the compose runner picks its scenarios)
  --relocate <a.b>     the nodes run at a.b.y.z instead of 127.0.y.z (compose networks)
  --dns <ip:port>      the topology's DNS service (default 127.0.0.53:5300)
  --port <n>           SMTP port of every node (default: the topology's, else 2525)
  --control-port <n>   control API port of every node (default 8025)
  --certs <dir>        certificate cache (default ./certs, or $RELAYLAB_CERTS)
  --control-token-file <file>
                       the lab's control token, shared with the nodes (default
                       <certs>/control-token; made with mode 0600 if no node made it yet)
  --allow-non-loopback let the spawned DNS service and nodes listen outside 127.0.0.0/8
  --grep <regex>       only scenarios whose name or description matches
  --ready-timeout <s>  how long to wait for the nodes to answer (default 20; compose: longer)
`;

const OPTIONS = {
  attach: { type: 'boolean' },
  config: { type: 'string' },
  relocate: { type: 'string' },
  dns: { type: 'string' },
  port: { type: 'string' },
  'control-port': { type: 'string' },
  certs: { type: 'string' },
  'control-token-file': { type: 'string' },
  [ALLOW_NON_LOOPBACK]: { type: 'boolean' },
  grep: { type: 'string' },
  'ready-timeout': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The relaylab command itself, from source (jest) or from dist: both sit two levels under the package. */
const RELAYLAB_BIN = resolve(__dirname, '../../bin/relaylab.js');

export function driveCommand(args: string[], io: Io): Promise<number> {
  return guarded('drive', io, DRIVE_HELP, async () => {
    const { values, positionals } = parseWithEnv(args, OPTIONS, true);
    if (values.help) {
      io.out.write(DRIVE_HELP);
      return 0;
    }
    const loaded = loadScenarios(positionals.length ? positionals : ['scenarios']);
    if (loaded.errors.length) {
      for (const e of loaded.errors) io.err.write(`${e.message}\n`);
      io.err.write(`relaylab drive: ${loaded.errors.length} file(s) are not valid; nothing was run\n`);
      return 2;
    }
    let scenarios: Scenario[] = loaded.scenarios;
    if (values.grep) {
      let re: RegExp;
      try {
        re = new RegExp(values.grep as string, 'i');
      } catch (e) {
        throw new UsageError(`--grep: ${(e as Error).message}`);
      }
      scenarios = scenarios.filter((s) => re.test(s.name) || re.test(s.description ?? ''));
    }
    if (values.config) {
      const topologyFile = resolve(values.config as string);
      scenarios = scenarios.filter((s) => s.topologyFile !== undefined && resolve(s.topologyFile) === topologyFile);
      if (!scenarios.length) throw new UsageError(`no scenario uses the topology ${values.config}`);
    }
    if (!scenarios.length) throw new UsageError('no scenarios to run');
    const readySeconds = Number(values['ready-timeout'] ?? 20);
    if (!(readySeconds > 0)) throw new UsageError(`--ready-timeout expects seconds, got "${values['ready-timeout']}"`);
    const dns = (values.dns as string | undefined) ?? '127.0.0.53:5300';
    const allowed = values[ALLOW_NON_LOOPBACK] === true;
    // Attached, this process only connects; spawned, the DNS service listens where --dns says (the nodes check their own addresses).
    if (!values.attach)
      checkBind({
        command: 'drive',
        what: 'the DNS service',
        option: '--dns',
        address: dns.split(':', 1)[0]!,
        allowed,
        relocate: values.relocate as string | undefined,
        err: io.err,
      });
    const results = await runScenariosOnProcesses(scenarios, {
      certsDir: resolve((values.certs as string | undefined) ?? process.env.RELAYLAB_CERTS ?? 'certs'),
      spawn: values.attach ? undefined : { command: [process.execPath, RELAYLAB_BIN], env: allowed ? { RELAYLAB_ALLOW_NON_LOOPBACK: 'true' } : {} },
      controlTokenFile: values['control-token-file'] ? resolve(values['control-token-file'] as string) : undefined,
      relocate: values.relocate as string | undefined,
      dns,
      port: intOption(values, 'port'),
      controlPort: intOption(values, 'control-port'),
      readyTimeoutMs: readySeconds * 1000,
      onResult: (r) => io.out.write(`${formatResult(r, false)}\n`),
    });
    io.out.write(`\n${summaryLine(results)}\n`);
    return results.every((r) => r.passed) ? 0 : 1;
  });
}
