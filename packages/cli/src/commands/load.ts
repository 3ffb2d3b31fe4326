import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Topology, TraceEvent, TraceSink } from '@relaylab/core';
import { Lab } from '@relaylab/lab';
import { MailboxStore } from '@relaylab/mta';
import { LoadTracker, type Accounting, type HopLatency } from './load-stats';
import { guarded, loadTopology, parseWithEnv, UsageError, type Io } from './shared';
import { webTarget, WEB_OPTIONS } from './web-client';

export const LOAD_HELP = `Usage: relaylab load <topology> --from <node> --to <address> [options]
       relaylab load [<topology>] --web <ip:port> --from <node> --to <address> [options]

Starts the topology's lab in this process and drives traffic through it: each message is
submitted at --from (as a user of that node would send it) and goes hop by hop, over real SMTP
and TLS, to wherever --to leads. Then prints throughput, per-hop latency percentiles, the
queue depths seen, where every message ended (delivered, bounced, refused, still queued; none
lost) and the peak RSS.

With --web, the same run against a lab \`relaylab up\` keeps running, through its web API (the
token from <certs>/control-token, as \`relaylab ctl\` reads it). Each message enters as it would
from outside: by default an SMTP client on 127.0.0.1 (STARTTLS when offered, as swaks or
Send-MailMessage) sends it to the --from node's own address and port, so the node's receive
policy applies (a recipient it does not accept, or will not relay for an anonymous client, is
refused: counted as refused, with the reply); with --via api, the web API's send action submits
it as a user of the --from node, as the embedded run and the web view's Send do. Hops and final
states are read from the lab's event stream, queue depths and the RSS of the \`relaylab up\`
process from its API; what is still open at the end is asked of the lab (still queued, or lost).
The topology file is then optional: given, the running lab must have its nodes.

  --from <node>        the node the messages are submitted at
  --to <address>       their recipient
  --sender <address>   envelope and From address (default: the node's first mailbox)
  --messages <n>       how many messages (default 1000)
  --concurrency <n>    messages in flight at once, submitted and not yet in a final state (default 50)
  --size <bytes>       message size (default 2048)
  --mix <file>         a JSON list of paths, [{ "from": node, "to": address, "weight": n }, ...]:
                       messages are shared among them by weight (instead of --from/--to)
  --timeout <s>        stop waiting for final states after this long (default 300)
  --certs <dir>        certificate cache (default ./certs, or $RELAYLAB_CERTS); with --web, the
                       one holding the running lab's control-token
  --web <ip:port>      drive the lab \`relaylab up\` runs, whose web API is there (or $RELAYLAB_WEB;
                       \`relaylab up\` prints it, by default 127.0.0.1:8525)
  --control-token-file <file>  with --web: the token file (default <certs>/control-token)
  --via smtp|api       with --web: how messages enter (default smtp; see above)
  --json               the summary as JSON, for tools
  -h, --help           this help

Exit codes: 0 every message in a final state; 1 a message still queued at the end, or lost;
2 usage, or (with --web) no lab answering there, or a wrong token.
`;

const OPTIONS = {
  from: { type: 'string' },
  to: { type: 'string' },
  sender: { type: 'string' },
  messages: { type: 'string' },
  concurrency: { type: 'string' },
  size: { type: 'string' },
  mix: { type: 'string' },
  timeout: { type: 'string' },
  ...WEB_OPTIONS,
  via: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface LoadPath {
  from: string;
  to: string;
  sender?: string;
  weight?: number;
}

export interface LoadSummary {
  topology: string;
  paths: LoadPath[];
  messages: number;
  concurrency: number;
  size: number;
  seconds: number;
  throughput: number;
  hops: HopLatency[];
  /** The most items each node's queue held at once, sampled every 50 ms. */
  queuePeak: Record<string, number>;
  accounting: Accounting;
  peakRssBytes: number;
  /** Whose memory peakRssBytes is: this process's (embedded), or the running lab's (relaylab up). */
  rssOf?: string;
  /** Against a running lab: its web API, its name, and how the messages entered it. */
  lab?: { web: string; name: string; entry: 'smtp' | 'api' };
  /** Against a running lab: the replies of the node a message was sent to when it did not take it (the refused), and how many each. */
  refusals?: Record<string, number>;
}

/** The summary both runs (embedded and against `relaylab up`) give: what was asked, then what the tracker saw. */
export function summarize(
  run: Pick<LoadSummary, 'topology' | 'lab' | 'paths' | 'messages' | 'concurrency' | 'size' | 'queuePeak' | 'refusals' | 'peakRssBytes' | 'rssOf'>,
  tracker: LoadTracker,
  held: number,
  seconds: number,
): LoadSummary {
  const accounting = tracker.accounting(held);
  const { topology, lab, paths, messages, concurrency, size, queuePeak, refusals, peakRssBytes, rssOf } = run;
  return {
    topology,
    ...(lab && { lab }),
    paths,
    messages,
    concurrency,
    size,
    seconds,
    throughput: (accounting.delivered + accounting.bounced + accounting.refused + accounting.deleted) / seconds,
    hops: tracker.hops(),
    queuePeak,
    accounting,
    ...(refusals && { refusals }),
    peakRssBytes,
    rssOf,
  };
}

function count(values: Record<string, unknown>, name: string, fallback: number, min = 1): number {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} expects a whole number of at least ${min}, got "${String(v)}"`);
  return n;
}

function readMix(file: string): LoadPath[] {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(resolve(file), 'utf8'));
  } catch (e) {
    throw new UsageError(`--mix ${file}: ${(e as Error).message}`);
  }
  const list = Array.isArray(value) ? value : undefined;
  if (!list?.length) throw new UsageError(`--mix ${file}: expects a non-empty JSON list of { "from": node, "to": address, "weight": n }`);
  return list.map((p: unknown, i) => {
    const o = p as Partial<LoadPath> | null;
    if (!o || typeof o.from !== 'string' || typeof o.to !== 'string' || (o.weight !== undefined && !(Number.isInteger(o.weight) && o.weight > 0))) {
      throw new UsageError(`--mix ${file}: entry ${i + 1} needs "from" (a node) and "to" (an address), and "weight" a whole number above 0 if given`);
    }
    return { from: o.from, to: o.to, sender: typeof o.sender === 'string' ? o.sender : undefined, weight: o.weight };
  });
}

export function checkPaths(
  nodes: Record<string, { hostname: string; mailboxes?: string[] }>,
  paths: LoadPath[],
): Array<Required<Omit<LoadPath, 'weight'>> & { weight: number }> {
  return paths.map((p) => {
    const spec = nodes[p.from];
    if (!spec) throw new UsageError(`no node named "${p.from}" in the topology (nodes: ${Object.keys(nodes).join(', ')})`);
    if (!/^[^@\s]+@[^@\s]+$/.test(p.to)) throw new UsageError(`"${p.to}" is not an email address`);
    const sender = p.sender ?? spec.mailboxes?.[0] ?? `load@${spec.hostname}`;
    return { from: p.from, to: p.to, sender, weight: p.weight ?? 1 };
  });
}

/** Path of the i-th message: the weights spread evenly over the run (a path of weight 3 every third of four messages, and so on). */
export function pathPicker(paths: Array<{ weight: number }>): (i: number) => number {
  const total = paths.reduce((n, p) => n + p.weight, 0);
  const credit = paths.map(() => 0);
  return () => {
    let best = 0;
    for (let k = 0; k < paths.length; k++) {
      credit[k]! += paths[k]!.weight;
      if (credit[k]! > credit[best]!) best = k;
    }
    credit[best]! -= total;
    return best;
  };
}

export function loadMessage(run: string, i: number, from: string, to: string, size: number): { messageId: string; raw: Buffer } {
  const messageId = `<load-${run}-${i}@relaylab.load>`;
  const head = `From: <${from}>\r\nTo: <${to}>\r\nMessage-ID: ${messageId}\r\nSubject: relaylab load ${i}\r\n\r\n`;
  const line = `${'x'.repeat(76)}\r\n`;
  const body = line.repeat(Math.max(1, Math.floor((size - head.length) / line.length)));
  return { messageId, raw: Buffer.from(head + body) };
}

const ms = (n: number) => `${n.toFixed(1)} ms`;
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;

export function formatSummary(s: LoadSummary): string {
  const a = s.accounting;
  const lines = [
    `${s.messages} messages of ${s.size} bytes, ${s.concurrency} in flight, in ${s.seconds.toFixed(2)} s: ${s.throughput.toFixed(0)} msg/s`,
    '',
    'hop latency (taken at one node → received by the next):',
    ...s.hops.map(
      (h) => `  ${h.hop.padEnd(28)} n=${String(h.count).padEnd(6)} p50 ${ms(h.p50).padStart(9)}  p95 ${ms(h.p95).padStart(9)}  p99 ${ms(h.p99).padStart(9)}`,
    ),
    '',
    `queue depth (peak): ${Object.entries(s.queuePeak)
      .map(([n, d]) => `${n} ${d}`)
      .join(', ')}`,
    `final state: ${a.delivered} delivered, ${a.bounced} bounced, ${a.refused} refused, ${a.deleted} deleted, ${a.queued} still queued, ${a.lost} lost (of ${a.sent})`,
    ...Object.entries(s.refusals ?? {}).map(([reply, n]) => `  refused ×${n}: ${reply}`),
    `peak RSS: ${mb(s.peakRssBytes)}${s.rssOf ? ` of ${s.rssOf}` : ''}`,
  ];
  return `${lines.join('\n')}\n`;
}

export interface LoadOptions {
  topologyFile: string;
  topology: Topology;
  paths: LoadPath[];
  messages: number;
  concurrency: number;
  size: number;
  timeoutMs: number;
  certsDir: string;
  /** Called every 200 ms with the count of messages in a final state. */
  progress?(done: number, total: number): void;
}

/** Drives a load run through an embedded lab; the lab is stopped before this returns. */
export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  const paths = checkPaths(options.topology.nodes, options.paths);
  const tracker = new LoadTracker();
  // The run's messages are followed as events happen; no event is kept.
  const trace: TraceSink = { emit: (e: TraceEvent) => tracker.observe(e) };
  const spoolDir = mkdtempSync(join(tmpdir(), 'relaylab-load-'));
  const lab = await Lab.start(options.topology, { certsDir: options.certsDir, trace, spoolDir });
  // Delivered messages are counted, not read: each mailbox keeps only its latest.
  for (const node of lab.nodes.values()) if (node.mailboxes instanceof MailboxStore) node.mailboxes.bound(1);
  const queuePeak: Record<string, number> = Object.fromEntries([...lab.nodes.keys()].map((n) => [n, 0]));
  let peakRss = process.memoryUsage().rss;
  const sample = () => {
    for (const [name, node] of lab.nodes) queuePeak[name] = Math.max(queuePeak[name]!, node.queue.pending().length);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  };
  const sampler = setInterval(sample, 50);
  const reporter = options.progress && setInterval(() => options.progress!(tracker.finished, options.messages), 200);
  const run = Date.now().toString(36);
  const pick = pathPicker(paths);
  const started = performance.now();
  const deadline = Date.now() + options.timeoutMs;
  try {
    const inFlight = new Set<string>();
    for (let i = 0; i < options.messages; i++) {
      while (inFlight.size >= options.concurrency && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 2));
        for (const id of inFlight) if (tracker.isFinal(id)) inFlight.delete(id);
      }
      if (Date.now() >= deadline) break;
      const path = paths[pick(i)]!;
      const m = loadMessage(run, i, path.sender, path.to, options.size);
      tracker.expect(m.messageId);
      inFlight.add(m.messageId);
      lab.submit(path.from, { from: path.sender, to: [path.to], raw: m.raw });
    }
    while (tracker.finished < options.messages && Date.now() < deadline && !lab.isIdle()) await new Promise((r) => setTimeout(r, 10));
    const seconds = (performance.now() - started) / 1000;
    // A message is final at its last node before the hops behind it have all said 250 and let go:
    // stopping now would cut their sessions. Idle with messages open: they wait for a retry
    // (deferred) and are counted as queued.
    await lab.settle(Math.max(1000, deadline - Date.now()));
    sample();
    const held = [...lab.nodes.values()].reduce((n, node) => n + node.queue.pending().length, 0);
    return summarize(
      {
        topology: options.topologyFile,
        paths,
        messages: options.messages,
        concurrency: options.concurrency,
        size: options.size,
        queuePeak,
        peakRssBytes: peakRss,
        rssOf: 'this process (the lab and the load), sampled every 50 ms',
      },
      tracker,
      held,
      seconds,
    );
  } finally {
    clearInterval(sampler);
    if (reporter) clearInterval(reporter);
    await lab.stop();
    rmSync(spoolDir, { recursive: true, force: true });
  }
}

export function loadCommand(args: string[], io: Io): Promise<number> {
  return guarded('load', io, LOAD_HELP, async () => {
    const { values, positionals } = parseWithEnv(args, OPTIONS, true);
    if (values.help) {
      io.out.write(LOAD_HELP);
      return 0;
    }
    const remote = values.web !== undefined;
    if (positionals.length > 1 || (!remote && positionals.length !== 1)) throw new UsageError('expects exactly one topology file (optional with --web)');
    const topologyFile = positionals[0];
    let paths: LoadPath[];
    if (values.mix) {
      if (values.from || values.to) throw new UsageError('--mix gives the paths: leave out --from and --to');
      paths = readMix(values.mix as string);
    } else {
      if (!values.from || !values.to) throw new UsageError('--from <node> and --to <address> are required (or --mix <file>)');
      paths = [{ from: values.from as string, to: values.to as string, sender: values.sender as string | undefined }];
    }
    const via = (values.via as string | undefined) ?? 'smtp';
    if (values.via !== undefined && !remote)
      throw new UsageError('--via is for a running lab (--web); the embedded lab takes each message as a user of --from');
    if (via !== 'smtp' && via !== 'api') throw new UsageError(`--via expects smtp or api, got "${via}"`);
    const tty = (io.out as NodeJS.WriteStream).isTTY === true && !values.json;
    const common = {
      paths,
      messages: count(values, 'messages', 1000),
      concurrency: count(values, 'concurrency', 50),
      size: count(values, 'size', 2048, 64),
      timeoutMs: count(values, 'timeout', 300) * 1000,
      progress: tty ? (done: number, total: number) => io.out.write(`\r${progressBar(done, total)}`) : undefined,
    };
    let summary: LoadSummary;
    if (remote) {
      const { runRemoteLoad, API_MAX_BODY } = await import('./load-remote');
      if (via === 'api' && common.size > API_MAX_BODY)
        throw new UsageError(`--via api sends a text body of at most ${API_MAX_BODY} bytes; --size ${common.size} is larger`);
      const target = webTarget(values);
      summary = await runRemoteLoad({
        ...common,
        target,
        entry: via,
        topologyFile,
        topologyNodes: topologyFile === undefined ? undefined : Object.keys(loadTopology(topologyFile, undefined).nodes),
      });
    } else {
      summary = await runLoad({
        ...common,
        topologyFile: topologyFile!,
        topology: loadTopology(topologyFile!, undefined),
        certsDir: resolve((values.certs as string | undefined) ?? process.env.RELAYLAB_CERTS ?? 'certs'),
      });
    }
    if (tty) io.out.write(`\r${progressBar(summary.accounting.sent - summary.accounting.queued - summary.accounting.lost, summary.messages)}\n`);
    io.out.write(values.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
    const a = summary.accounting;
    return a.queued === 0 && a.lost === 0 && a.sent === summary.messages ? 0 : 1;
  });
}

function progressBar(done: number, total: number): string {
  const width = 30;
  const filled = Math.round((done / Math.max(1, total)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}
