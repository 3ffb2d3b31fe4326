import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { StaticResolver, type TraceSink } from '@relaylab/core';
import {
  controlTokenFile,
  ensureControlToken,
  JsonLinesFile,
  JsonLinesTrace,
  StandaloneNode,
  sweepMailboxTemps,
  writeMailboxMessage,
  writeSpool,
} from '@relaylab/lab';
import { NetworkResolver } from '@relaylab/mta';
import { ALLOW_NON_LOOPBACK, ALLOW_NON_LOOPBACK_HELP, checkBind } from './loopback';
import { guarded, intOption, loadTopology, makeLogger, parseWithEnv, portInUse, required, untilSignal, UsageError, type Io } from './shared';

export const NODE_HELP = `Usage: relaylab node --config <topology> --node <name> [options]

Runs exactly one node of a topology in this process (one container per node under docker-compose).
Every option can also come from the environment: --dns ← RELAYLAB_DNS, --control-port ← RELAYLAB_CONTROL_PORT, ...

  --config <file>        topology file (RELAYLAB_CONFIG)
  --node <name>          the node to run (RELAYLAB_NODE)
  --dns <ip[:port]>      the topology's DNS service (relaylab dns); without it, the topology's
                         records are read from the file directly
  --port <n>             SMTP port of every node (each has its own address); default: the topology's, else 2525
  --control-port <n>     control API on the node's address, for a runner (default 8025)
  --relocate <a.b>       the lab runs at a.b.y.z instead of 127.0.y.z (compose networks; see docker-compose.yml)
  --address <ip>         bind this node elsewhere than the topology says (a node run alone; for a
                         whole lab use --relocate, so the DNS and the other nodes agree)
  --certs <dir>          certificate cache, filled first by \`relaylab certs\` (default ./certs)
  --control-token-file <file>
                         the lab's control token, which a runner must send (default
                         <certs>/control-token, made with mode 0600 if missing)
${ALLOW_NON_LOOPBACK_HELP}  --trace <file|->       also write the trace as JSON lines to a file, or stdout with "-"
                         (logs then go to stderr)
  --out <dir>            write delivered mail as <dir>/mailboxes/<address>/*.eml; the durable queue
                         is <dir>/queue/<node>/ (a restart resumes it), and at shutdown a readable
                         copy of what is still queued goes to <dir>/spool/<node>/
  --log-level <level>    pino level (default info); JSON lines, pretty on a terminal
`;

const OPTIONS = {
  config: { type: 'string' },
  node: { type: 'string' },
  dns: { type: 'string' },
  port: { type: 'string' },
  'control-port': { type: 'string' },
  relocate: { type: 'string' },
  address: { type: 'string' },
  certs: { type: 'string' },
  'control-token-file': { type: 'string' },
  [ALLOW_NON_LOOPBACK]: { type: 'boolean' },
  trace: { type: 'string' },
  out: { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function nodeCommand(args: string[], io: Io): Promise<number> {
  return guarded('node', io, NODE_HELP, async () => {
    const { values } = parseWithEnv(args, OPTIONS);
    if (values.help) {
      io.out.write(NODE_HELP);
      return 0;
    }
    const name = required(values, 'node');
    const topology = loadTopology(required(values, 'config'), values.relocate as string | undefined);
    if (!topology.nodes[name]) throw new UsageError(`no node named "${name}" in the topology (nodes: ${Object.keys(topology.nodes).join(', ')})`);
    if (values.address) topology.nodes[name] = { ...topology.nodes[name], address: values.address as string };
    checkBind({
      command: 'node',
      what: 'SMTP and the control API',
      option: values.address ? '--address' : `node ${name}'s address`,
      address: topology.nodes[name].address,
      allowed: values[ALLOW_NON_LOOPBACK] === true,
      relocate: values.relocate as string | undefined,
      err: io.err,
    });
    const certsDir = resolve((values.certs as string | undefined) ?? 'certs');
    let controlToken: string;
    try {
      controlToken = ensureControlToken(resolve((values['control-token-file'] as string | undefined) ?? controlTokenFile(certsDir)));
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const traceTo = values.trace as string | undefined;
    const logger = makeLogger(values['log-level'] as string | undefined, traceTo === '-' ? 2 : 1).child({ node: name });
    const sinks: TraceSink[] = [];
    // A file gets one synchronous write per event, so kill -9 cannot cut what was answered 250.
    let traceFile: JsonLinesFile | undefined;
    if (traceTo === '-') sinks.push(new JsonLinesTrace(process.stdout));
    else if (traceTo) sinks.push((traceFile = new JsonLinesFile(resolve(traceTo))));
    const dns = values.dns as string | undefined;
    const resolver = dns ? new NetworkResolver(dns) : new StaticResolver(topology.dns, topology.nodes);
    const out = values.out ? resolve(values.out as string) : undefined;
    // Mailbox files a crash left half-written are removed before anything new is written.
    if (out) sweepMailboxTemps(resolve(out, 'mailboxes'));
    const controlPort = intOption(values, 'control-port') ?? 8025;
    const listenerOn = (_address: string, p: number) =>
      p === controlPort ? { listener: `node ${name}'s control API`, option: '--control-port <n>' } : { listener: `node ${name}`, option: '--port <n>' };
    const standalone = await StandaloneNode.start({
      topology,
      name,
      certsDir,
      resolver,
      port: intOption(values, 'port'),
      controlPort,
      controlToken,
      logger,
      sinks,
      // Without --out the queue lives in a folder of its own for this run; with it, a restart resumes it.
      spoolDir: out ? resolve(out, 'queue', name) : mkdtempSync(join(tmpdir(), `relaylab-${name}-queue-`)),
    }).catch((e: unknown) => {
      throw portInUse(e, listenerOn);
    });
    if (out) {
      standalone.trace.subscribe((e) => {
        if (e.type !== 'delivered') return;
        const stored = standalone.node.mailboxes
          .get(e.mailbox)
          .filter((m) => m.messageId === e.messageId)
          .pop();
        if (stored) logger.info({ file: writeMailboxMessage(resolve(out, 'mailboxes'), stored) }, 'mailbox file written');
      });
    }
    if (standalone.certificatesGenerated.length) {
      logger.warn(
        { files: standalone.certificatesGenerated },
        'certificates were not in the cache and were made here; other nodes will not share them: run `relaylab certs` first',
      );
    }
    logger.info({ address: topology.nodes[name].address, port: standalone.node.port, dns: dns ?? 'topology file' }, 'node up');
    const signal = await untilSignal();
    logger.info({ signal }, 'shutting down');
    // After stop, so messages that were being delivered when the signal came are in the queue again.
    await standalone.stop();
    const spooled = out ? writeSpool(resolve(out, 'spool'), standalone.node) : [];
    if (spooled.length) logger.info({ spooled }, 'queued messages written to the spool');
    traceFile?.close();
    logger.info('stopped');
    return 0;
  });
}
