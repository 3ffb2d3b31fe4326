import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Topology, TraceEvent } from '@relaylab/core';
import { controlTokenFile, ensureControlToken, Lab, keepMailboxFiles, sweepMailboxTemps, TraceStore, topologyDirectory, writeSpool } from '@relaylab/lab';
import { MailboxStore, parseServer, TopologyDnsServer } from '@relaylab/mta';
import { LabView } from '../web/lab-view';
import { WEB_PORT, WebServer } from '../web/server';
import { ALLOW_NON_LOOPBACK, checkBind } from './loopback';
import { heapMb, UP_HEAP_MB } from './up-bounded';
import { guarded, intOption, loadTopology, makeLogger, parseWithEnv, portInUse, untilSignal, UsageError, type Io } from './shared';

export const UP_HELP = `Usage: relaylab up <topology> [options]

Starts every node of the topology and keeps the lab up until Ctrl-C, so you can send into it
with swaks, Send-MailMessage or a mail client and watch each hop.

  --out <dir>          mailboxes as <dir>/mailboxes/<address>/*.eml, the trace as <dir>/trace.jsonl,
                       the durable queue in <dir>/queue/<node>/ (a restart resumes it), and at
                       shutdown a readable copy of what is queued in <dir>/spool/<node>/
                       (default relaylab-lab)
  --port <n>           every node listens on this port of its own address (default: the
                       topology's, else 2525)
  --dns <ip:port>      also serve the topology's MX and A records there, for dig, swaks --server
                       lookups or Postfix (e.g. 127.0.0.53:5300)
  --certs <dir>        certificate cache (default ./certs, or $RELAYLAB_CERTS)
  --web-port <n>       the web view and its API (docs/web.md) on 127.0.0.1:<n> (default 8525,
                       or any free port when that is taken; 0: any free port); the address
                       printed carries the lab's control token (<certs>/control-token), which
                       the API asks of every request
  --no-web             no web view
  --max-heap <MB>      the lab's JavaScript heap bound (default ${UP_HEAP_MB}; 0: none; without this
                       option --max-old-space-size in NODE_OPTIONS is the bound); at the bound the
                       lab stops and says so, exit 1
  --verbose            node logs (pino) on stderr
  --allow-non-loopback let --dns listen outside 127.0.0.0/8 (reachable from the network, as
                       stderr then says); the nodes always stay on the topology's loopback addresses
`;

const OPTIONS = {
  out: { type: 'string' },
  port: { type: 'string' },
  dns: { type: 'string' },
  certs: { type: 'string' },
  verbose: { type: 'boolean' },
  'web-port': { type: 'string' },
  'no-web': { type: 'boolean' },
  'max-heap': { type: 'string' },
  [ALLOW_NON_LOOPBACK]: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const time = (at: string) => at.slice(11, 19);

/** Messages each mailbox keeps in memory (the web view's list); every one is also a .eml file in --out. */
const MAILBOX_KEEP = 50;

/** One line per thing that happened to a message at a node: what a person watching wants. */
export function hopLine(e: TraceEvent): string | undefined {
  switch (e.type) {
    case 'submitted':
      return `${time(e.at)} ${e.node}: submitted ${e.messageId} from ${e.from} to ${e.to.join(', ')}`;
    case 'received':
      return `${time(e.at)} ${e.node}: received ${e.messageId} from ${e.remote.ip} (EHLO ${e.ehlo}) over ${e.tls.secure ? e.tls.protocol : 'plaintext'}${e.connector ? ` on "${e.connector}"` : ''}`;
    case 'refused':
      return `${time(e.at)} ${e.node}: refused ${e.command} from ${e.remote.ip}: ${e.reply} (${e.reason})`;
    case 'attempt':
      return `${time(e.at)} ${e.node} → ${e.destination.host} (${e.destination.ip}:${e.destination.port}): ${e.outcome} ${e.messageId} over ${e.tls.secure ? e.tls.protocol : 'plaintext'} via "${e.connector}"; ${e.tlsDecision}${e.outcome === 'sent' ? '' : `; ${e.replies.join(' | ')}`}`;
    case 'delivered':
      return `${time(e.at)} ${e.node}: delivered ${e.messageId} to mailbox ${e.mailbox}`;
    case 'handedOff':
      return `${time(e.at)} ${e.node}: handed off ${e.messageId} for ${e.recipients.join(', ')} to ${e.host} (${e.reason})`;
    case 'rejected':
    case 'bounced':
    case 'deferred':
      return `${time(e.at)} ${e.node}: ${e.type} ${e.messageId} for ${e.recipients.join(', ')}: ${e.reply} (${e.reason})`;
    default:
      return undefined;
  }
}

function table(topology: Topology, lab: Lab): string {
  const rows = Object.entries(topology.nodes).map(([name, spec]) => {
    const cert = spec.certificate ? topology.certificates?.[spec.certificate] : undefined;
    const names = cert ? [...new Set([cert.subject, ...(cert.sans ?? [])])].join(', ') : '-';
    return [
      name,
      spec.implementation === 'postfix' ? `${spec.role} (Postfix)` : spec.role,
      spec.hostname,
      `${spec.address}:${lab.node(name).port}`,
      names,
      (spec.mailboxes ?? []).join(', ') || '-',
    ];
  });
  const all = [['NODE', 'ROLE', 'HOSTNAME', 'ADDRESS', 'CERTIFICATE NAMES', 'MAILBOXES'], ...rows];
  const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/**
 * The web view on the port asked for; without one, on 8525, or, when another lab (or program)
 * holds that, on any free port, said on stderr: a second lab should not fail for a page.
 */
async function listenWeb(web: WebServer, port: number | undefined, io: Io): Promise<void> {
  if (port !== undefined) return web.listen(port, '127.0.0.1');
  try {
    await web.listen(WEB_PORT, '127.0.0.1');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    await web.listen(0, '127.0.0.1');
    io.err.write(`relaylab up: 127.0.0.1:${WEB_PORT} is taken (another lab?); the web view is on ${web.origin} instead\n`);
  }
}

/**
 * The lab itself, on the thread it is called on. `relaylab up` runs it in a Worker with a heap
 * bound (up-bounded.ts), which passes signals on through `stopped`.
 */
export function upCommand(args: string[], io: Io, stopped: () => Promise<NodeJS.Signals> = untilSignal): Promise<number> {
  return guarded('up', io, UP_HELP, async () => {
    const { values, positionals } = parseWithEnv(args, OPTIONS, true);
    if (values.help) {
      io.out.write(UP_HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('expects exactly one topology file');
    const port = intOption(values, 'port');
    const webPort = intOption(values, 'web-port');
    if (heapMb(values['max-heap']) === undefined) throw new UsageError(`--max-heap expects a size in MB (0: no bound), got "${values['max-heap']}"`);
    if (values.dns) {
      const address = (values.dns as string).split(':', 1)[0]!;
      checkBind({ command: 'up', what: 'the DNS service', option: '--dns', address, allowed: values[ALLOW_NON_LOOPBACK] === true, err: io.err });
    }
    const file = loadTopology(positionals[0]!, undefined);
    // Listening for SIGINT/SIGTERM from here on: a signal while the nodes start stops the lab once it
    // is up, cleanly, instead of killing it half-started (and a supervisor may signal at any time).
    const stopSignal = stopped();
    // One port for every node is a topology edit, so the Lab's own 'topology' port mode applies it.
    const topology: Topology =
      port === undefined ? file : { ...file, nodes: Object.fromEntries(Object.entries(file.nodes).map(([n, s]) => [n, { ...s, port }])) };
    const out = resolve((values.out as string | undefined) ?? 'relaylab-lab');
    mkdirSync(out, { recursive: true });
    // Written line by line before each reply, so a crash loses no event that preceded a 250.
    // Memory keeps the latest events and an index; the rest is read back from the file when asked for.
    const trace = new TraceStore(resolve(out, 'trace.jsonl'));
    sweepMailboxTemps(resolve(out, 'mailboxes'));
    const logger = values.verbose ? makeLogger('debug', 2) : undefined;
    const certsDir = resolve((values.certs as string | undefined) ?? process.env.RELAYLAB_CERTS ?? 'certs');
    // The lab's durable queue lives in --out: a message answered 250 survives Ctrl-C and a crash.
    const nodeOn = (address: string, p: number) => ({ listener: `node ${topologyDirectory(topology).nodeAt(address, p) ?? address}`, option: '--port <n>' });
    const lab = await Lab.start(topology, { certsDir, ports: 'topology', trace, logger, spoolDir: resolve(out, 'queue') }).catch((e: unknown) => {
      throw portInUse(e, nodeOn);
    });
    // Each delivered message is written to --out as it arrives; memory keeps each mailbox's latest few.
    for (const node of lab.nodes.values()) if (node.mailboxes instanceof MailboxStore) node.mailboxes.bound(MAILBOX_KEEP);
    // Written off the event loop, a batch at a time; the node's 250 waits for the file.
    const mailboxFiles = keepMailboxFiles(lab.nodes.values(), resolve(out, 'mailboxes'));
    const record = (e: TraceEvent) => {
      const line = hopLine(e);
      const written = e.type === 'delivered' ? mailboxFiles.written(e) : undefined;
      if (!written) {
        if (line) io.out.write(`${line}\n`);
        return;
      }
      // Said once the file is on disk, so whoever reads the line (a person, a script) finds it.
      written.durable.then(
        () => io.out.write(`${line}\n         → ${written.file}\n`),
        (err: Error) => io.err.write(`relaylab up: writing ${written.file} failed: ${err.message}\n`),
      );
    };
    // What happened while the nodes started (mail taken back from the queue, delivered at once) first.
    for (const e of trace.events) record(e);
    trace.subscribe(record);
    // A broken queue file is moved aside, never delivered: say so whatever the log level.
    for (const node of lab.nodes.values()) for (const w of node.spoolWarnings) io.err.write(`relaylab up: warning: ${node.name}: ${w}\n`);
    let dns: TopologyDnsServer | undefined;
    if (values.dns) {
      try {
        dns = await TopologyDnsServer.start({ topology, ...parseServer(values.dns as string), logger });
      } catch (e) {
        await lab.stop();
        throw e instanceof Error && /IPv4/.test(e.message)
          ? new UsageError(e.message)
          : portInUse(e, () => ({ listener: 'the DNS service', option: '--dns <ip:port>' }));
      }
    }
    let web: WebServer | undefined;
    if (!values['no-web']) {
      web = new WebServer(new LabView(lab, trace), ensureControlToken(controlTokenFile(certsDir)));
      await listenWeb(web, webPort, io).catch(async (e: unknown) => {
        await Promise.all([lab.stop(), dns?.close()]);
        throw portInUse(e, () => ({ listener: 'the web view', option: '--web-port <n>' }));
      });
    }
    io.out.write(`${table(topology, lab)}\n\n`);
    io.out.write(`mailboxes: ${resolve(out, 'mailboxes')}/<address>/\ntrace: ${resolve(out, 'trace.jsonl')}\n`);
    if (dns) io.out.write(`DNS: ${dns.address}:${dns.port} (dig @${dns.address} -p ${dns.port} MX <domain>)\n`);
    if (web) io.out.write(`web: ${web.loginUrl}\n     (API: ${web.origin}/api/openapi.json, Authorization: Bearer <${controlTokenFile(certsDir)}>)\n`);
    io.out.write(`relaylab up: ${lab.nodes.size} nodes ready; Ctrl-C stops the lab\n`);
    const signal = await stopSignal;
    io.out.write(`relaylab up: ${signal}, shutting down\n`);
    // After stop, so messages that were being delivered when the signal came are in the queue again.
    await web?.close();
    await lab.stop();
    await mailboxFiles.writer.flush().catch((err: Error) => io.err.write(`relaylab up: writing a mailbox file failed: ${err.message}\n`));
    const spooled = [...lab.nodes.values()].flatMap((n) => writeSpool(resolve(out, 'spool'), n));
    await dns?.close();
    trace.close();
    io.out.write(`relaylab up: stopped; ${spooled.length} queued message(s) written to ${resolve(out, 'spool')}\n`);
    return 0;
  });
}
