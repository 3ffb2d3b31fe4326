import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { messageIdOf, parseHeaders, prependHeader, type Clock, type Resolver, type Topology, type TraceSink } from '@relaylab/core';
import type { MailNode, Submission } from '@relaylab/mta';
import { trustStoreFor, type LabCertificates } from '@relaylab/pki';
import { postfixConfig, type PostfixPaths, type PostfixRoute } from './config';
import { PostfixLogParser } from './log-parser';
import { MaildirBoxes } from './maildir';
import { nextRetryMs } from './retry';
import { prepareQueue } from './queue-dirs';
import { postfixRoutes } from './routes';

export interface PostfixNodeOptions {
  topology: Topology;
  name: string;
  certificates: LabCertificates;
  resolver: Resolver;
  clock: Clock;
  trace: TraceSink;
  /** The lab's ports: Postfix reaches every other node at `[ip]:port`. */
  portOf(ip: string, host: string): number;
  /** 0: a free port on the node's address, chosen before start so other nodes know it. */
  port: number;
  /** The node's folder in the lab's working folder: config, queue, data, mailboxes and log. */
  dir: string;
  logger?: Logger;
}

type QueueItem = ReturnType<MailNode['queue']['pending']>[number];

const POSTFIX = '/usr/sbin/postfix';
/** Debian's daemon_directory, where master lives. */
const DEBIAN_DAEMONS = '/usr/lib/postfix/sbin';

/** One line when Postfix is missing, naming the Debian package. */
export function requirePostfix(node: string, programs: string[] = [POSTFIX, '/usr/sbin/postqueue', '/usr/sbin/sendmail']): void {
  if (!programs.every((p) => existsSync(p)))
    throw new Error(`node ${node} has implementation: postfix, but Postfix is not installed (install the Debian package "postfix": apt-get install postfix)`);
}

function run(command: string, args: string[]): { status: number | null; output: string } {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim() };
}

/** As run, without holding the event loop: other labs in this process keep talking SMTP meanwhile. */
function runAsync(command: string, args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) => {
      const status = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ status, output: `${stdout}${stderr}${error && !stderr ? error.message : ''}`.trim() });
    });
  });
}

/** A free TCP port on `address`, so the Postfix node's port is known before any node starts. */
export function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, address, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The master and the daemons it started: they share its process group (it was spawned detached). */
function killGroup(master: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (master.pid) process.kill(-master.pid, signal);
  } catch {
    // already gone
  }
}

/** Whether `address:port` can be bound now. */
function freePortIs(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, address, () => s.close(() => resolve(true)));
  });
}

function waitForBanner(address: string, port: number, timeoutMs: number, exited: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const gone = exited();
      if (gone) return reject(new Error(gone));
      const socket = createConnection({ host: address, port });
      let data = '';
      let answered = false;
      socket.setTimeout(2000);
      const retry = (why: string) => {
        socket.destroy();
        if (answered) return;
        answered = true;
        if (Date.now() > deadline) reject(new Error(`Postfix did not answer with 220 on ${address}:${port} within ${timeoutMs} ms (${why})`));
        else setTimeout(attempt, 50);
      };
      socket.on('data', (d) => {
        if (answered) return;
        data += d.toString('latin1');
        if (!data.includes('\n')) return;
        if (!data.startsWith('220')) return retry(`banner ${data.trim()}`);
        answered = true;
        socket.end('QUIT\r\n');
        resolve();
      });
      socket.on('error', (e) => retry(e.message));
      socket.on('timeout', () => retry('no banner'));
    };
    attempt();
  });
}

/**
 * A node played by a real Postfix: relaylab writes its instance (main.cf, master.cf, tables,
 * certificates) under the node's folder, runs its master under a PID of its own, submits through
 * its sendmail and turns its maillog into trace events. Faults that act on relaylab's listener
 * (fail, slow, …) do not apply; down/up stop and start the master.
 */
export class PostfixNode {
  readonly mailboxes: MaildirBoxes;
  readonly queue = {
    kick: () => this.kick(),
    nextDueAt: () => this.nextDueAt(),
    /** Postfix keeps its own queue files (postqueue -p lists them); relaylab holds no items for it. */
    pending: (): readonly QueueItem[] => [],
  };
  spoolWarnings: string[] = [];
  readonly paths: PostfixPaths;
  private master?: ChildProcess;
  private exitNote?: string;
  private boundPort: number;
  private down = false;
  private parser?: PostfixLogParser;
  private routes: PostfixRoute[] = [];
  private logOffset = 0;
  private partial = '';
  private tail?: NodeJS.Timeout;
  private submitting = 0;
  private flushing = 0;
  /** Where the maillog stood when the master was last started. */
  private launchedAt = 0;
  /** Deferred messages by Message-ID: how often deferred and when the lab clock says to retry. */
  private readonly deferred = new Map<string, { count: number; dueAt: number }>();
  /** Flushed messages whose next attempt has not been logged yet. */
  private readonly retrying = new Map<string, number>();

  constructor(private readonly options: PostfixNodeOptions) {
    requirePostfix(options.name);
    // Postfix's master starts as root and its daemons drop to the postfix user (mail_owner).
    if (process.getuid?.() !== 0)
      throw new Error(`node ${options.name} has implementation: postfix, which relaylab can only run as root (Postfix's master starts as root)`);
    const root = options.dir;
    this.paths = {
      root,
      config: join(root, 'conf'),
      queue: join(root, 'queue'),
      data: join(root, 'data'),
      mail: join(root, 'mail'),
      log: join(root, 'maillog'),
      certFile: join(root, 'conf', 'cert.pem'),
      keyFile: join(root, 'conf', 'key.pem'),
      caFile: join(root, 'conf', 'ca.pem'),
    };
    this.mailboxes = new MaildirBoxes(this.paths.mail);
    this.boundPort = options.port;
  }

  get name(): string {
    return this.options.name;
  }

  get port(): number {
    return this.boundPort;
  }

  get isDown(): boolean {
    return this.down;
  }

  private get spec() {
    return this.options.topology.nodes[this.options.name]!;
  }

  /** Settle the port before any node starts: others route to it. */
  async reservePort(): Promise<void> {
    if (!this.boundPort) this.boundPort = await freePort(this.spec.address);
  }

  private async writeInstance(): Promise<void> {
    const { topology, name, certificates } = this.options;
    const spec = this.spec;
    const p = this.paths;
    for (const d of [p.root, p.config, p.mail]) mkdirSync(d, { recursive: true });
    // Postfix's daemons run as the postfix user and must reach the queue and the mailboxes.
    for (const d of [join(p.root, '..'), p.root]) chmodSync(d, 0o755);
    const uid = Number(run('id', ['-u', 'postfix']).output);
    const gid = Number(run('id', ['-g', 'postfix']).output);
    const postdropGid = Number(run('getent', ['group', 'postdrop']).output.split(':')[2]);
    if (![uid, gid, postdropGid].every((n) => Number.isInteger(n) && n > 0))
      throw new Error(`node ${name}: the postfix user or the postdrop group does not exist (is the Debian package "postfix" installed?)`);
    prepareQueue(p.queue, p.data, { uid, gid, postdropGid });
    chownSync(p.mail, uid, gid);
    const cert = spec.certificate ? certificates.certificates.get(spec.certificate) : undefined;
    if (cert) {
      writeFileSync(p.certFile, spec.tls?.presentChain === 'leafOnly' ? cert.certPem : cert.chainPem);
      writeFileSync(p.keyFile, cert.keyPem, { mode: 0o600 });
    }
    const trust = await trustStoreFor(certificates, spec.trust);
    writeFileSync(p.caFile, trust.anchors.map((a) => a.toString()).join('\n'));
    this.routes = await postfixRoutes(topology, name, this.options.resolver, this.options.portOf);
    const files = postfixConfig({ name, spec, paths: p, port: this.boundPort, routes: this.routes, hasCertificate: !!cert, mailOwner: { uid, gid } });
    for (const [file, text] of Object.entries(files)) writeFileSync(join(p.config, file), text);
  }

  async start(): Promise<void> {
    await this.reservePort();
    await this.writeInstance();
    this.parser ??= new PostfixLogParser({ node: this.name, address: this.spec.address, port: this.boundPort, routes: this.routes });
    await this.launch();
    this.tail = setInterval(() => this.readLog(), 20);
  }

  private async launch(): Promise<void> {
    const daemonDir = existsSync(DEBIAN_DAEMONS) ? DEBIAN_DAEMONS : (await runAsync('postconf', ['-h', 'daemon_directory'])).output;
    this.exitNote = undefined;
    this.launchedAt = existsSync(this.paths.log) ? statSync(this.paths.log).size : 0;
    let stderr = '';
    // Detached: the master leads its own process group, which it signals to stop its daemons.
    const master = spawn(join(daemonDir, 'master'), ['-d', '-c', this.paths.config], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    master.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    // Should relaylab end without stopping the lab, its Postfix instances end with it.
    const orphaned = () => killGroup(master, 'SIGTERM');
    process.once('exit', orphaned);
    master.once('exit', (code, signal) => {
      process.removeListener('exit', orphaned);
      const fatal = this.fatalLines();
      this.exitNote = `Postfix master of node ${this.name} exited (${signal ?? `code ${code}`})${stderr ? `: ${stderr.trim()}` : ''}${fatal ? `: ${fatal}` : ''}; see ${this.paths.log}`;
      if (this.master === master) this.master = undefined;
    });
    this.master = master;
    try {
      await waitForBanner(this.spec.address, this.boundPort, 15_000, () => this.exitNote);
    } catch (err) {
      // The master logs through a daemon it starts, so why it could not start is not in the maillog.
      const free = await freePortIs(this.spec.address, this.boundPort);
      throw free ? err : new Error(`${(err as Error).message} (${this.spec.address}:${this.boundPort} is taken by another program)`);
    }
    this.options.logger?.info({ node: this.name, pid: master.pid, port: this.boundPort }, 'Postfix master running');
  }

  /** Why Postfix gave up, as it logged it (its daemons log to the maillog, not to stderr). */
  private fatalLines(): string {
    try {
      return readFileSync(this.paths.log)
        .subarray(this.launchedAt)
        .toString('utf8')
        .split('\n')
        .filter((l) => /\b(fatal|panic): /.test(l))
        .map((l) => l.replace(/^.*?\b(fatal|panic): /, ''))
        .join('; ');
    } catch {
      return '';
    }
  }

  private async halt(): Promise<void> {
    const master = this.master;
    if (!master || master.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => master.once('exit', () => resolve()));
    master.kill('SIGTERM');
    const timer = setTimeout(() => killGroup(master, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    this.readLog();
  }

  async stop(): Promise<void> {
    await this.halt();
    if (this.tail) clearInterval(this.tail);
    this.tail = undefined;
    this.readLog();
  }

  async takeDown(): Promise<void> {
    if (this.down) return;
    this.down = true;
    await this.halt();
  }

  async bringUp(): Promise<void> {
    if (!this.down) return;
    await this.launch();
    this.down = false;
  }

  private readLog(): void {
    if (!this.parser || !existsSync(this.paths.log)) return;
    const fd = openSync(this.paths.log, 'r');
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.logOffset);
        if (n <= 0) break;
        this.logOffset += n;
        this.partial += buf.subarray(0, n).toString('utf8');
      }
    } finally {
      closeSync(fd);
    }
    const lines = this.partial.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) for (const event of this.parser.feed(line)) this.record(event);
  }

  private record(event: ReturnType<PostfixLogParser['feed']>[number]): void {
    const at = this.options.clock.now();
    if ('messageId' in event) {
      this.retrying.delete(event.messageId);
      if (event.type === 'deferred') {
        const count = (this.deferred.get(event.messageId)?.count ?? 0) + 1;
        const dueAt = at.getTime() + nextRetryMs(count);
        this.deferred.set(event.messageId, { count, dueAt });
        this.options.trace.emit({ ...event, nextAttempt: new Date(dueAt).toISOString(), at: at.toISOString() });
        return;
      }
      if (event.type === 'delivered' || event.type === 'bounced' || (event.type === 'attempt' && event.outcome === 'sent'))
        this.deferred.delete(event.messageId);
    }
    this.options.trace.emit({ ...event, at: at.toISOString() } as Parameters<TraceSink['emit']>[0]);
  }

  private nextDueAt(): Date | undefined {
    const due = [...this.deferred.values()].map((d) => d.dueAt);
    return due.length ? new Date(Math.min(...due)) : undefined;
  }

  /** The lab clock reached a retry: Postfix tries its whole deferred queue now (postqueue -f). */
  private kick(): void {
    if (this.down || !this.master) return;
    const now = this.options.clock.now().getTime();
    const due = [...this.deferred].filter(([, d]) => d.dueAt <= now);
    if (!due.length) return;
    for (const [id] of due) this.retrying.set(id, Date.now());
    this.flushing++;
    void runAsync('/usr/sbin/postqueue', ['-c', this.paths.config, '-f']).then((r) => {
      this.flushing--;
      if (r.status !== 0) this.options.logger?.warn({ node: this.name, output: r.output }, 'postqueue -f failed');
    });
  }

  /** A user of this node sends: Postfix's sendmail, as a local program would. */
  submit(message: Submission): string {
    let raw = message.raw;
    let messageId = messageIdOf(raw);
    if (!messageId) {
      messageId = `<${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}@${this.spec.hostname}>`;
      raw = prependHeader(raw, 'Message-ID', messageId);
    }
    const at = this.options.clock.now().toISOString();
    this.options.trace.emit({ type: 'submitted', at, node: this.name, messageId, from: message.from, to: message.to, headersIn: parseHeaders(raw) });
    this.submitting++;
    const child = spawn('/usr/sbin/sendmail', ['-C', this.paths.config, '-i', '-f', message.from || '<>', '--', ...message.to], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.once('close', (code) => {
      this.submitting--;
      if (code === 0) return;
      // Postfix never took it: the message ends here, refused to the user who sent it.
      const reply = `sendmail exited with status ${code}${err.trim() ? `: ${err.trim()}` : ''}`;
      this.options.logger?.error({ node: this.name, code, err }, 'Postfix sendmail failed');
      this.options.trace.emit({
        type: 'rejected',
        at: this.options.clock.now().toISOString(),
        node: this.name,
        messageId,
        recipients: message.to,
        reply,
        reason: `Postfix's sendmail did not take the message`,
        by: this.name,
        noDsn: 'the sender submitted it locally and was told at once',
      });
    });
    child.once('error', (e) => (err += e.message));
    child.stdin?.end(raw);
    return messageId;
  }

  private queueBusy(): boolean {
    for (const dir of ['maildrop', 'incoming', 'active']) {
      try {
        if (readdirSync(join(this.paths.queue, dir)).some((f) => statSync(join(this.paths.queue, dir, f)).isFile())) return true;
      } catch {
        // not created yet: nothing queued
      }
    }
    return false;
  }

  isIdle(): boolean {
    if (this.down) return true;
    this.readLog();
    const stale = Date.now() - 10_000;
    for (const [id, since] of this.retrying) if (since < stale) this.retrying.delete(id);
    return this.submitting === 0 && this.flushing === 0 && this.retrying.size === 0 && (this.parser?.open.size ?? 0) === 0 && !this.queueBusy();
  }
}
