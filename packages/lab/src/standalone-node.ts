import type { Logger } from 'pino';
import { VirtualClock, type Resolver, type Topology, type TraceSink } from '@relaylab/core';
import { StripStartTlsProxy, type Directory } from '@relaylab/mta';
import { Pki } from '@relaylab/pki';
import { NodeControlServer } from './node-control';
import { faultDetail } from './steps';
import { detourTarget, topologyDirectory } from './topology-directory';
import { createLabNode, type LabNode } from './lab-node';
import { ObservedTrace } from './trace-stream';

export interface StandaloneNodeOptions {
  /** Already relocated, if the node runs at other addresses than the file's. */
  topology: Topology;
  name: string;
  certsDir: string;
  resolver: Resolver;
  /** SMTP port of every node (each has its own address); default the topology's, else 2525. */
  port?: number;
  /** Control API base port (see controlPortOfNode); undefined: no control API. */
  controlPort?: number;
  /** The lab's control token (ensureControlToken), which the control API requires of every request. */
  controlToken?: string;
  logger: Logger;
  /** More places the trace goes (a JSON-lines file, stdout), besides the control API. */
  sinks?: TraceSink[];
  /** The node's durable queue: accepted messages are fsynced here before 250 and resumed at start. */
  spoolDir?: string;
}

/** Exactly one node of a topology, in this process: what `relaylab node` and each compose service run. */
export class StandaloneNode {
  private control?: NodeControlServer;
  private constructor(
    readonly node: LabNode,
    readonly trace: ObservedTrace,
    readonly clock: VirtualClock,
    /** Certificate files this process had to make: not empty means the shared cache was not ready. */
    readonly certificatesGenerated: string[],
    /** Nodes this one reaches through a STARTTLS-stripping proxy (stripStartTls), by node name. */
    private readonly detours: Map<string, { port: number; proxy: StripStartTlsProxy }>,
  ) {}

  static async start(options: StandaloneNodeOptions): Promise<StandaloneNode> {
    const spec = options.topology.nodes[options.name];
    if (!spec) throw new Error(`no node named "${options.name}" in the topology (nodes: ${Object.keys(options.topology.nodes).join(', ')})`);
    const clock = new VirtualClock();
    // The certificates come from the shared cache that the runner or the compose `certs` service
    // filled first; made here, they would differ from what the other processes trust.
    const pki = new Pki({ dir: options.certsDir, now: () => clock.now() });
    const certificates = await pki.forTopology(options.topology);
    const directory = topologyDirectory(options.topology, options.port);
    const detours = new Map<string, { port: number; proxy: StripStartTlsProxy }>();
    const detourTo = (to: string | undefined) => (to === undefined ? undefined : detours.get(to));
    // As the embedded Lab gives each node its own directory: a detour applies to this sender only.
    const ownDirectory: Directory = {
      portOf: (ip, host) => detourTo(directory.nodeFor(ip, host))?.port ?? directory.portOf(ip, host),
      nodeAt: (ip, port) =>
        directory.nodeAt(ip, port) ??
        detourTarget(
          options.topology,
          [...detours].map(([to, d]) => ({ to, port: d.port })),
          ip,
          port,
        ),
    };
    const trace = new ObservedTrace();
    for (const sink of options.sinks ?? []) trace.subscribe((e) => sink.emit(e));
    const node = await createLabNode({
      topology: options.topology,
      name: options.name,
      certificates,
      resolver: options.resolver,
      clock,
      trace,
      directory: ownDirectory,
      logger: options.logger,
      port: directory.portOfNode(options.name),
      spoolDir: options.spoolDir,
    });
    const standalone = new StandaloneNode(node, trace, clock, pki.generated, detours);
    await node.start();
    if (options.controlPort !== undefined) {
      if (!options.controlToken) {
        await node.stop();
        throw new Error("a control API needs the lab's control token (controlToken)");
      }
      const control = new NodeControlServer(
        {
          node,
          trace,
          advance: (ms, kick) => {
            clock.advance(ms);
            if (kick) node.queue.kick();
          },
          now: () => clock.now(),
          address: spec.address,
          stripStartTls: (to) => standalone.stripStartTls(options.topology, options.name, to, directory.portOfNode(to)),
          clearDetours: () => standalone.clearDetours(),
        },
        options.controlToken,
      );
      try {
        await control.listen(directory.controlPortOfNode(options.name, options.controlPort), spec.address);
      } catch (err) {
        await node.stop();
        throw err;
      }
      standalone.control = control;
    }
    return standalone;
  }

  /**
   * A man in the middle between this node and `to`, as the embedded Lab's stripStartTls: a proxy
   * on `to`'s address (so this process must be able to bind it: loopback, not compose) that this
   * node alone now reaches `to` through; it connects onward from this node's address.
   */
  private async stripStartTls(topology: Topology, from: string, to: string, targetPort: number): Promise<number> {
    const existing = this.detours.get(to);
    if (existing) return existing.port;
    const toSpec = topology.nodes[to];
    if (!toSpec) throw new Error(`no node named "${to}" in the topology`);
    const emit = (detail: string) =>
      this.trace.emit({ type: 'fault', at: this.clock.now().toISOString(), realAt: new Date().toISOString(), node: to, fault: 'stripStartTls', detail });
    const proxy = new StripStartTlsProxy({
      listenAddress: toSpec.address,
      target: { ip: toSpec.address, port: targetPort },
      localAddress: topology.nodes[from]!.address, // `from` is this node, checked at start
      onStrip: (client) => emit(faultDetail.stripped(from, toSpec.hostname, client.ip)),
    });
    const port = await proxy.listen().catch((err: Error) => {
      throw new Error(
        `cannot put a STARTTLS-stripping proxy on ${to}'s address ${toSpec.address} from ${from}'s process (${err.message}): stripStartTls needs the nodes on one host's loopback, not in separate containers`,
      );
    });
    this.detours.set(to, { port, proxy });
    emit(faultDetail.detour(from, to, `${toSpec.address}:${port}`));
    return port;
  }

  async clearDetours(): Promise<void> {
    const open = [...this.detours.values()];
    this.detours.clear();
    await Promise.all(open.map((d) => d.proxy.close()));
  }

  async stop(): Promise<void> {
    await this.control?.close();
    await this.clearDetours();
    await this.node.stop();
  }
}
