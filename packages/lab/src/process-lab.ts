import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Topology, TraceEvent } from '@relaylab/core';
import { NetworkResolver, type FaultCommand, type StoredMessage, type Submission } from '@relaylab/mta';
import { Pki } from '@relaylab/pki';
import { controlTokenFile, ensureControlToken } from './control-token';
import { NodeControlClient } from './control-client';
import { relocateTopology } from './relocate';
import { advanceLab, type StepTarget } from './steps';
import { CONTROL_PORT, detourTarget, topologyDirectory } from './topology-directory';
import { SETTLE_POLL_MS } from './settle';
import { mergeByTime } from './trace-stream';

export interface SpawnOptions {
  /** The argv that runs the `relaylab` command, e.g. `[process.execPath, 'packages/cli/bin/relaylab.js']`. */
  command: [string, ...string[]];
  env?: NodeJS.ProcessEnv;
}

export interface ProcessLabOptions {
  topology: Topology;
  certsDir: string;
  /** The lab's control token (default `<certsDir>/control-token`, made if missing); the nodes must use the same. */
  controlTokenFile?: string;
  /** Start the DNS service and one process per node; without it, drive nodes that already run (compose). */
  spawn?: SpawnOptions;
  /** The nodes run at `prefix.y.z` instead of 127.0.y.z (compose networks); see relocateTopology. */
  relocate?: string;
  /** SMTP port on every node's address (default the topology's, else 2525). */
  port?: number;
  controlPort?: number;
  /** `address:port` of the topology's DNS service: where spawned nodes query it. */
  dns: string;
  /** How long to wait for the DNS and every node to answer. */
  readyTimeoutMs?: number;
  logger?: Logger;
}

interface Child {
  name: string;
  process: ChildProcess;
  output: string[];
  exited?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A lab whose nodes are separate OS processes (or containers), driven over each node's control
 * API. The trace crosses process boundaries as JSON lines that every node streams to this
 * runner; mergeByTime puts them in one order, so fates come out as in the embedded Lab.
 */
export class ProcessLab implements StepTarget {
  private readonly children: Child[] = [];
  private readonly clients = new Map<string, NodeControlClient>();
  private readonly gathered: TraceEvent[] = [];
  private readonly counts = new Map<string, number>();
  private readonly unfollow: Array<() => void> = [];
  private readonly streamErrors: string[] = [];
  private readonly directory: ReturnType<typeof topologyDirectory>;
  /** Proxies between two nodes (stripStartTls): where they listen, and the node behind each. */
  private readonly detours: Array<{ from: string; to: string; port: number }> = [];
  private tmp?: string;
  private readonly tokenFile: string;
  /** Made here if no node made it first; nodes that run already (attach) made it in the shared folder. */
  private readonly token: string;

  private constructor(
    readonly topology: Topology,
    private readonly options: ProcessLabOptions,
  ) {
    this.directory = topologyDirectory(topology, options.port);
    this.tokenFile = options.controlTokenFile ?? controlTokenFile(options.certsDir);
    this.token = ensureControlToken(this.tokenFile);
  }

  static async start(options: ProcessLabOptions): Promise<ProcessLab> {
    const topology = options.relocate ? relocateTopology(options.topology, options.relocate) : options.topology;
    const lab = new ProcessLab(topology, options);
    try {
      if (options.spawn) await lab.spawnAll(options.spawn);
      await lab.connect();
    } catch (err) {
      await lab.stop();
      throw err;
    }
    return lab;
  }

  /** Events from every node, in lab-time order. */
  get events(): TraceEvent[] {
    return mergeByTime(this.gathered);
  }

  private async spawnAll(s: SpawnOptions): Promise<void> {
    const [firstNode] = Object.values(this.topology.nodes);
    if (!firstNode) throw new Error('the topology has no nodes to spawn');
    // Certificates first, in this one process: nodes started side by side would each mint their own CA.
    await new Pki({ dir: this.options.certsDir }).forTopology(this.options.topology);
    this.tmp = mkdtempSync(join(tmpdir(), 'relaylab-processes-'));
    const file = join(this.tmp, 'topology.yaml');
    writeFileSync(file, JSON.stringify(this.options.topology, null, 2)); // JSON is YAML: the node loads and validates it as a file
    const common = ['--config', file, ...(this.options.relocate ? ['--relocate', this.options.relocate] : [])];
    // All at once: loading the code is most of a process's start, and a node asks the DNS service
    // only when it delivers, which is after connect() below has found every node up.
    this.launch(s, 'dns', ['dns', ...common, '--listen', this.options.dns]);
    for (const name of Object.keys(this.topology.nodes)) {
      this.launch(s, name, [
        'node',
        ...common,
        '--node',
        name,
        '--certs',
        this.options.certsDir,
        '--dns',
        this.options.dns,
        '--control-port',
        String(this.options.controlPort ?? CONTROL_PORT),
        '--control-token-file',
        this.tokenFile,
        ...(this.options.port !== undefined ? ['--port', String(this.options.port)] : []),
      ]);
    }
    await this.until('the DNS service', async () => {
      await new NetworkResolver(this.options.dns, { timeoutMs: 300, tries: 1 }).a(firstNode.hostname);
    });
  }

  private launch(s: SpawnOptions, name: string, args: string[]): void {
    const [cmd, ...pre] = s.command;
    const child: Child = { name, output: [], process: spawn(cmd, [...pre, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...s.env } }) };
    const keep = (d: Buffer) => {
      child.output.push(...d.toString().split('\n').filter(Boolean));
      child.output.splice(0, Math.max(0, child.output.length - 40));
    };
    child.process.stdout?.on('data', keep);
    child.process.stderr?.on('data', keep);
    child.process.on('exit', (code, signal) => (child.exited = signal ?? `exit code ${code}`));
    this.children.push(child);
  }

  /** Retries `probe` until it succeeds; a spawned process that died fails at once, with its output. */
  private async until(what: string, probe: () => Promise<unknown>): Promise<void> {
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 20_000);
    let last: unknown;
    while (Date.now() < deadline) {
      const dead = this.children.find((c) => c.exited);
      if (dead) throw new Error(`${dead.name} process ended (${dead.exited}) before the lab was up:\n${dead.output.join('\n')}`);
      try {
        await probe();
        return;
      } catch (err) {
        last = err;
        await sleep(100);
      }
    }
    throw new Error(`${what} did not answer within ${(this.options.readyTimeoutMs ?? 20_000) / 1000}s: ${(last as Error)?.message}`);
  }

  private async connect(): Promise<void> {
    for (const [name, spec] of Object.entries(this.topology.nodes)) {
      const client = new NodeControlClient(name, spec.address, this.directory.controlPortOfNode(name, this.options.controlPort ?? CONTROL_PORT), this.token);
      let from = 0;
      await this.until(`node ${name} (${spec.address}:${client.port})`, async () => {
        from = (await client.status()).events;
      });
      // Attached to nodes that ran before: only what happens from now on belongs to this run.
      this.counts.set(name, from);
      this.unfollow.push(
        client.follow(
          from,
          (e) => {
            this.gathered.push(e);
            this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
          },
          (err) => this.streamErrors.push(`${name}: ${err.message}`),
        ),
      );
      this.clients.set(name, client);
    }
  }

  private client(name: string): NodeControlClient {
    this.failIfAProcessDied();
    const c = this.clients.get(name);
    if (!c) throw new Error(`no node named ${name} in this lab`);
    return c;
  }

  /** A node process that died mid-scenario is named with its exit and output, not as ECONNREFUSED. */
  private failIfAProcessDied(): void {
    const dead = this.children.find((c) => c.exited);
    if (dead) throw new Error(`${dead.name} process ended (${dead.exited}) during the scenario:\n${dead.output.join('\n')}`);
  }

  submit(nodeName: string, message: Submission): Promise<string> {
    return this.client(nodeName).submit(message);
  }

  /** One mailbox of a node, or (without `address`) everything the node stored. */
  mailbox(nodeName: string, address?: string): Promise<StoredMessage[]> {
    return this.client(nodeName).mailbox(address);
  }

  get nodeNames(): string[] {
    return [...this.clients.keys()];
  }

  nodeAt(ip: string, port?: number): string | undefined {
    const node = this.directory.nodeAt(ip, port ?? 0);
    if (node || !port) return node;
    return detourTarget(this.topology, this.detours, ip, port);
  }

  /**
   * Every node idle in two rounds of asking, and every event each node has emitted has arrived
   * here: the second condition is what makes the gathered trace complete, not merely probably
   * complete. The nodes answer one by one, so one round is no snapshot (a node may take a message
   * after it answered, from a node that answers idle later); the second round, asked once the
   * first is in, sees it. A node still busy is kicked: work that fell due while the lab clock ran
   * on in real time would otherwise wait for the node's one-second tick.
   */
  async settle(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let quiet = 0;
    while (Date.now() < deadline) {
      this.failIfAProcessDied();
      if (this.streamErrors.length) throw new Error(`trace stream lost: ${this.streamErrors.join('; ')}`);
      const statuses = await Promise.all([...this.clients.values()].map((c) => c.status()));
      const done = statuses.every((s) => s.idle && (this.counts.get(s.node) ?? 0) >= s.events);
      quiet = done ? quiet + 1 : 0;
      if (quiet >= 2) return true;
      if (done) continue;
      await Promise.all([sleep(SETTLE_POLL_MS), ...statuses.filter((s) => !s.idle).map((s) => this.client(s.node).kick())]);
    }
    return false;
  }

  /** Move every node's clock `ms` forward, stopping at every moment something is due (see advanceLab). */
  async advance(ms: number, settleMs = 30_000): Promise<boolean> {
    return (await advanceLab(this, ms, settleMs)).settled;
  }

  /** Each node reckons on its own clock: processes' clocks may differ by the time a request takes. */
  async dueIn(): Promise<number | undefined> {
    const clocks = await Promise.all([...this.clients.values()].map((c) => c.clock()));
    const due = clocks.flatMap((c) => (c.nextDue === undefined ? [] : [Date.parse(c.nextDue) - Date.parse(c.now)]));
    return due.length ? Math.min(...due) : undefined;
  }

  /**
   * Every clock moves before any queue runs, as one shared clock moves in the embedded lab: a node
   * that retried at once could otherwise deliver to a node still living in the past.
   */
  async moveClock(ms: number): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.advance(ms, false)));
  }

  async kick(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.kick()));
  }

  /** The node's listener closes and it delivers nothing; its queue and spool stay for up(). */
  async down(name: string): Promise<void> {
    await this.client(name).down();
  }

  async up(name: string): Promise<void> {
    await this.client(name).up();
  }

  async heal(name: string): Promise<void> {
    await this.client(name).fault({ fault: 'heal' });
  }

  async failCommand(name: string, command: FaultCommand, reply: string, times?: number): Promise<void> {
    await this.client(name).fault({ fault: 'fail', command, reply, times });
  }

  async dropDuringData(name: string, times?: number): Promise<void> {
    await this.client(name).fault({ fault: 'dropDuringData', times });
  }

  async tlsHandshakeFails(name: string, times?: number): Promise<void> {
    await this.client(name).fault({ fault: 'tlsHandshakeFails', times });
  }

  async slow(name: string, delayMs: number): Promise<void> {
    await this.client(name).fault({ fault: 'slow', delayMs });
  }

  /**
   * `from`'s process puts a STARTTLS-stripping proxy on `to`'s address and sends its mail for
   * `to` through it; other senders still reach `to` directly. The proxy must bind `to`'s
   * address, which processes on one host can (loopback) and containers cannot.
   */
  async stripStartTls(from: string, to: string): Promise<void> {
    if (!this.topology.nodes[to]) throw new Error(`no node named ${to} in this lab`);
    if (this.detours.some((d) => d.from === from && d.to === to)) return;
    this.detours.push({ from, to, port: await this.client(from).stripStartTls(to) });
  }

  async stop(): Promise<void> {
    // Attached to nodes that outlive this scenario: leave them up, healed and without detours.
    if (!this.children.length) await Promise.all([...this.clients.values()].map((c) => c.reset().catch(() => undefined)));
    for (const f of this.unfollow) f();
    await Promise.all(
      this.children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exited) return resolve();
            const kill = setTimeout(() => c.process.kill('SIGKILL'), 5000);
            c.process.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            c.process.kill('SIGTERM');
          }),
      ),
    );
    if (this.tmp) rmSync(this.tmp, { recursive: true, force: true });
  }
}
