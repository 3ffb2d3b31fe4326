import type { Logger } from 'pino';
import {
  MemoryTrace,
  nodeContext,
  StaticResolver,
  VirtualClock,
  type Topology,
  type TraceSink,
} from '@relaylab/core';
import { Pki, trustStoreFor, type LabCertificates } from '@relaylab/pki';
import { MailNode, type Submission } from '@relaylab/mta';

export interface LabOptions {
  /** Certificate cache, `certs/` by default. */
  certsDir: string;
  /** `ephemeral`: every node on a free port, so labs can run side by side; `topology`: the ports the topology gives. */
  ports?: 'ephemeral' | 'topology';
  clock?: VirtualClock;
  trace?: TraceSink & { events?: unknown[] };
  logger?: Logger;
  pki?: Pki;
  /** Messages one outbound connection carries before it is replaced (default 100, as nodemailer's pool). */
  maxMessagesPerConnection?: number;
}

export const DEFAULT_PORT = 2525;

/** A running topology: every node listening on its own loopback address, one clock, one trace. */
export class Lab {
  readonly nodes = new Map<string, MailNode>();
  readonly clock: VirtualClock;
  readonly trace: MemoryTrace;
  /** Several Exchange Online tenants share EOP's addresses, so one address may hold several nodes. */
  private readonly byAddress = new Map<string, MailNode[]>();

  private constructor(readonly topology: Topology, readonly certificates: LabCertificates, clock: VirtualClock, trace: MemoryTrace) {
    this.clock = clock;
    this.trace = trace;
  }

  static async start(topology: Topology, options: LabOptions): Promise<Lab> {
    const clock = options.clock ?? new VirtualClock();
    const pki = options.pki ?? new Pki({ dir: options.certsDir, now: () => clock.now() });
    const certificates = await pki.forTopology(topology);
    const lab = new Lab(topology, certificates, clock, (options.trace as MemoryTrace) ?? new MemoryTrace());
    const resolver = new StaticResolver(topology.dns, topology.nodes);
    const directory = {
      portOf: (ip: string, host?: string) => lab.nodeFor(ip, host)?.port ?? DEFAULT_PORT,
      nodeAt: (ip: string, port: number) => lab.nodeAt(ip, port),
    };
    for (const [name, spec] of Object.entries(topology.nodes)) {
      const cert = spec.certificate ? certificates.certificates.get(spec.certificate) : undefined;
      const node = new MailNode({
        ctx: nodeContext(name, spec, topology.organizations),
        material: { key: cert?.keyPem, chainPem: cert?.chainPem, trust: await trustStoreFor(certificates, spec.trust) },
        resolver,
        clock,
        trace: lab.trace,
        directory,
        logger: options.logger,
        port: options.ports === 'topology' ? spec.port ?? DEFAULT_PORT : 0,
        maxMessagesPerConnection: options.maxMessagesPerConnection,
      });
      lab.nodes.set(name, node);
      lab.byAddress.set(spec.address, [...(lab.byAddress.get(spec.address) ?? []), node]);
    }
    try {
      await Promise.all([...lab.nodes.values()].map((n) => n.start()));
    } catch (err) {
      await lab.stop();
      throw err;
    }
    return lab;
  }

  node(name: string): MailNode {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`no node named ${name} in this lab`);
    return node;
  }

  /** The node behind an address; where tenants share one, the one whose host name was asked for. */
  private nodeFor(ip: string, host?: string): MailNode | undefined {
    const nodes = this.byAddress.get(ip) ?? [];
    if (nodes.length <= 1 || !host) return nodes[0];
    const h = host.toLowerCase();
    return nodes.find((n) => this.topology.nodes[n.name].hostname.toLowerCase() === h) ?? nodes[0];
  }

  nodeAt(ip: string, port?: number): string | undefined {
    const nodes = this.byAddress.get(ip) ?? [];
    const node = port === undefined || port === 0 ? nodes[0] : nodes.find((n) => n.port === port);
    return node?.name;
  }

  submit(nodeName: string, message: Submission): string {
    return this.node(nodeName).submit(message);
  }

  isIdle(): boolean {
    return [...this.nodes.values()].every((n) => n.isIdle());
  }

  /** Wait until no node is delivering and nothing is due; false if that took longer than `timeoutMs`. */
  async settle(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let quiet = 0;
    while (Date.now() < deadline) {
      quiet = this.isIdle() ? quiet + 1 : 0;
      if (quiet >= 2) return true;
      await new Promise((r) => setTimeout(r, 15));
    }
    return false;
  }

  /** Move the lab clock and let every queue retry what is now due. */
  advance(ms: number): void {
    this.clock.advance(ms);
    for (const node of this.nodes.values()) node.queue.kick();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.stop().catch(() => undefined)));
  }
}
