import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { MemoryTrace, StaticResolver, VirtualClock, type FaultKind, type NodeSpec, type Resolver, type Topology, type TraceSink } from '@relaylab/core';
import { Pki, type LabCertificates } from '@relaylab/pki';
import { StripStartTlsProxy, type FaultCommand, type ListenerTimeouts, type Submission } from '@relaylab/mta';
import { advanceLab, faultDetail, type StepTarget } from './steps';
import { detourTarget, NODE_PORT, topologyDirectory } from './topology-directory';
import { createLabNode, relaylabNode, startLabNodes, type LabNode } from './lab-node';
import { settleNodes } from './settle';

export interface LabOptions {
  /** Certificate cache, `certs/` by default. */
  certsDir: string;
  /** `ephemeral`: every node on a free port, so labs can run side by side; `topology`: the ports the topology gives. */
  ports?: 'ephemeral' | 'topology';
  clock?: VirtualClock;
  trace?: TraceSink & { events?: readonly unknown[] };
  logger?: Logger;
  pki?: Pki;
  /** Messages one outbound connection carries before it is replaced (default 100, as nodemailer's pool). */
  maxMessagesPerConnection?: number;
  /**
   * Where each node keeps its spool (`<dir>/<node>/`): a node started on a spool that holds
   * messages delivers them. Default: a temporary folder for this lab, removed at stop.
   */
  spoolDir?: string;
  /** The listeners' real-time limits (idle clients, shutdown grace). */
  timeouts?: ListenerTimeouts;
  /** Each node's own resolver (a rehearsal's, which caches answers for their TTL); default one static resolver for all. */
  resolverFor?: (node: string) => Resolver;
}

/** A running topology: every node listening on its own loopback address, one clock, one trace. */
export class Lab implements StepTarget {
  readonly nodes = new Map<string, LabNode>();
  readonly clock: VirtualClock;
  readonly trace: MemoryTrace;
  /** Several Exchange Online tenants share EOP's addresses, so one address may hold several nodes. */
  private readonly byAddress = new Map<string, LabNode[]>();
  /** `from→to` pairs routed through a man in the middle: the proxy's port and the node behind it. */
  private readonly detours = new Map<string, { port: number; to: string; proxy: StripStartTlsProxy }>();
  /** A spool folder this lab made itself, and so removes at stop. */
  private ownSpool?: string;
  /** How start() made a node, kept so that reconfigure() can make it again from a changed topology. */
  private makeNode?: (name: string, port: number) => Promise<LabNode>;

  private constructor(
    public topology: Topology,
    public certificates: LabCertificates,
    clock: VirtualClock,
    trace: MemoryTrace,
  ) {
    this.clock = clock;
    this.trace = trace;
  }

  static async start(topology: Topology, options: LabOptions): Promise<Lab> {
    const clock = options.clock ?? new VirtualClock();
    const pki = options.pki ?? new Pki({ dir: options.certsDir, now: () => clock.now() });
    const certificates = await pki.forTopology(topology);
    const lab = new Lab(topology, certificates, clock, (options.trace as MemoryTrace) ?? new MemoryTrace());
    const resolver = new StaticResolver(topology.dns, topology.nodes);
    let spoolDir = options.spoolDir;
    if (spoolDir === undefined) spoolDir = lab.ownSpool = mkdtempSync(join(tmpdir(), 'relaylab-spool-'));
    // Fixed ports follow the same rule as one node per process: tenants sharing EOP's address take the next ports.
    const fixedPorts = topologyDirectory(topology, undefined);
    lab.makeNode = (name, port) =>
      createLabNode({
        topology: lab.topology,
        name,
        certificates: lab.certificates,
        resolver: options.resolverFor?.(name) ?? resolver,
        clock,
        trace: lab.trace,
        // Each node asks for ports through its own directory, so a detour can apply to one sender only.
        directory: { portOf: (ip, host) => lab.portFor(name, ip, host), nodeAt: (ip, port) => lab.nodeAt(ip, port) },
        logger: options.logger,
        port,
        maxMessagesPerConnection: options.maxMessagesPerConnection,
        spoolDir: join(spoolDir, name),
        timeouts: options.timeouts,
      });
    for (const [name, spec] of Object.entries(topology.nodes)) {
      const node = await lab.makeNode(name, options.ports === 'topology' ? fixedPorts.portOfNode(name) : 0);
      lab.nodes.set(name, node);
      lab.byAddress.set(spec.address, [...(lab.byAddress.get(spec.address) ?? []), node]);
    }
    try {
      await startLabNodes([...lab.nodes.values()]);
    } catch (err) {
      await lab.stop();
      throw err;
    }
    return lab;
  }

  node(name: string): LabNode {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`no node named ${name} in this lab`);
    return node;
  }

  /** A node's entry in the topology, which every node of this lab was made from. */
  private spec(name: string): NodeSpec {
    const spec = this.topology.nodes[name];
    if (!spec) throw new Error(`no node named ${name} in this lab`);
    return spec;
  }

  /** The node behind an address; where tenants share one, the one whose host name was asked for. */
  private nodeFor(ip: string, host?: string): LabNode | undefined {
    const nodes = this.byAddress.get(ip) ?? [];
    if (nodes.length <= 1 || !host) return nodes[0];
    const h = host.toLowerCase();
    return nodes.find((n) => this.spec(n.name).hostname.toLowerCase() === h) ?? nodes[0];
  }

  nodeAt(ip: string, port?: number): string | undefined {
    const nodes = this.byAddress.get(ip) ?? [];
    const node = port === undefined || port === 0 ? nodes[0] : nodes.find((n) => n.port === port);
    if (!node && port) return detourTarget(this.topology, this.detours.values(), ip, port);
    return node?.name;
  }

  private portFor(from: string, ip: string, host?: string): number {
    const target = this.nodeFor(ip, host);
    if (!target) return NODE_PORT;
    return this.detours.get(`${from}→${target.name}`)?.port ?? target.port;
  }

  /** Record what the lab broke, so the trace tells the whole story. */
  private fault(node: string, fault: FaultKind, detail: string): void {
    this.trace.emit({ type: 'fault', at: this.clock.now().toISOString(), node, fault, detail });
  }

  async down(name: string): Promise<void> {
    await this.node(name).takeDown();
    this.fault(name, 'down', faultDetail.down(name, `${this.spec(name).address}:${this.node(name).port}`));
  }

  async up(name: string): Promise<void> {
    await this.node(name).bringUp();
    this.fault(name, 'up', faultDetail.up(name, `${this.spec(name).address}:${this.node(name).port}`));
  }

  heal(name: string): void {
    relaylabNode(this.node(name), 'heal').faults.heal();
    this.fault(name, 'heal', faultDetail.heal(name));
  }

  failCommand(name: string, command: FaultCommand, reply: string, times?: number): void {
    relaylabNode(this.node(name), 'fail').faults.fail(command, reply, times);
    this.fault(name, 'fail', faultDetail.fail(name, command, reply, times));
  }

  dropDuringData(name: string, times?: number): void {
    relaylabNode(this.node(name), 'dropDuringData').faults.dropDuringData(times);
    this.fault(name, 'dropDuringData', faultDetail.dropDuringData(name, times));
  }

  tlsHandshakeFails(name: string, times?: number): void {
    relaylabNode(this.node(name), 'tlsHandshakeFails').faults.tlsHandshakeFails(times);
    this.fault(name, 'tlsHandshakeFails', faultDetail.tlsHandshakeFails(name, times));
  }

  slow(name: string, delayMs: number): void {
    relaylabNode(this.node(name), 'slow').faults.slow(delayMs);
    this.fault(name, 'slow', faultDetail.slow(name, delayMs));
  }

  /**
   * A man in the middle between two nodes: `from` now reaches `to` through a proxy on `to`'s
   * address that removes STARTTLS from the EHLO reply. The proxy connects onward from `from`'s
   * address, so address-based rules at `to` see what they saw before.
   */
  async stripStartTls(from: string, to: string): Promise<void> {
    const key = `${from}→${to}`;
    if (this.detours.has(key)) return;
    relaylabNode(this.node(from), 'stripStartTls from it');
    const target = this.node(to);
    const toSpec = this.spec(to);
    const proxy = new StripStartTlsProxy({
      listenAddress: toSpec.address,
      target: { ip: toSpec.address, port: target.port },
      localAddress: this.spec(from).address,
      onStrip: (client) => this.fault(to, 'stripStartTls', faultDetail.stripped(from, toSpec.hostname, client.ip)),
    });
    const port = await proxy.listen();
    this.detours.set(key, { port, to, proxy });
    this.fault(to, 'stripStartTls', faultDetail.detour(from, to, `${toSpec.address}:${port}`));
  }

  /**
   * A change made while mail flows (a connector, a rule, a certificate): each node named is
   * stopped, what it had in flight finished and its spool kept, and made again from `topology`
   * on the same address and port, taking back what it held. A node that was down stays down.
   */
  async reconfigure(topology: Topology, certificates: LabCertificates, names: readonly string[]): Promise<void> {
    this.topology = topology;
    this.certificates = certificates;
    await Promise.all(
      names.map(async (name) => {
        const old = this.node(name);
        const wasDown = old.isDown;
        const port = old.port;
        await old.stop();
        const node = await this.makeNode!(name, port);
        // The faults switched on stay: they are the world around the node, not its configuration.
        if ('faults' in old && 'faults' in node) Object.assign(node.faults, old.faults);
        this.nodes.set(name, node);
        for (const [ip, list] of this.byAddress)
          this.byAddress.set(
            ip,
            list.map((n) => (n === old ? node : n)),
          );
        await node.start();
        if (wasDown) await node.takeDown();
      }),
    );
  }

  submit(nodeName: string, message: Submission): string {
    return this.node(nodeName).submit(message);
  }

  isIdle(): boolean {
    return [...this.nodes.values()].every((n) => n.isIdle());
  }

  /** Wait until no node is delivering and nothing is due (see settleNodes); false if that took longer than `timeoutMs`. */
  settle(timeoutMs = 30_000): Promise<boolean> {
    return settleNodes(() => this.nodes.values(), timeoutMs);
  }

  /**
   * Move the lab clock `ms` forward, stopping at every retry, expiry and delay notice on the way
   * (see advanceLab); resolves once the lab is quiet at the new time (false if it did not settle).
   */
  async advance(ms: number, settleMs = 30_000): Promise<boolean> {
    return (await advanceLab(this, ms, settleMs)).settled;
  }

  async dueIn(): Promise<number | undefined> {
    const now = this.clock.now().getTime();
    const due = [...this.nodes.values()].flatMap((n) => n.queue.nextDueAt()?.getTime() ?? []);
    return due.length ? Math.min(...due) - now : undefined;
  }

  moveClock(ms: number): void {
    this.clock.advance(ms);
  }

  kick(): void {
    for (const node of this.nodes.values()) node.queue.kick();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.detours.values()].map((d) => d.proxy.close()));
    await Promise.all([...this.nodes.values()].map((n) => n.stop().catch(() => undefined)));
    if (this.ownSpool) rmSync(this.ownSpool, { recursive: true, force: true });
  }
}
