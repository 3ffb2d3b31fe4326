import type { Logger } from 'pino';
import { nodeContext, VirtualClock, type Resolver, type Topology, type TraceSink } from '@relaylab/core';
import { MailNode } from '@relaylab/mta';
import { Pki, trustStoreFor } from '@relaylab/pki';
import { NodeControlServer } from './node-control';
import { topologyDirectory } from './topology-directory';
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
    readonly node: MailNode,
    readonly trace: ObservedTrace,
    readonly clock: VirtualClock,
    /** Certificate files this process had to make: not empty means the shared cache was not ready. */
    readonly certificatesGenerated: string[],
  ) {}

  static async start(o: StandaloneNodeOptions): Promise<StandaloneNode> {
    const spec = o.topology.nodes[o.name];
    if (!spec) throw new Error(`no node named "${o.name}" in the topology (nodes: ${Object.keys(o.topology.nodes).join(', ')})`);
    const clock = new VirtualClock();
    // The certificates come from the shared cache that the runner or the compose `certs` service
    // filled first; made here, they would differ from what the other processes trust.
    const pki = new Pki({ dir: o.certsDir, now: () => clock.now() });
    const certificates = await pki.forTopology(o.topology);
    const cert = spec.certificate ? certificates.certificates.get(spec.certificate) : undefined;
    const directory = topologyDirectory(o.topology, o.port);
    const trace = new ObservedTrace();
    for (const sink of o.sinks ?? []) trace.subscribe((e) => sink.emit(e));
    const node = new MailNode({
      ctx: nodeContext(o.name, spec, o.topology.organizations),
      material: { key: cert?.keyPem, chainPem: cert?.chainPem, trust: await trustStoreFor(certificates, spec.trust) },
      resolver: o.resolver,
      clock,
      trace,
      directory,
      logger: o.logger,
      port: directory.portOfNode(o.name),
      spoolDir: o.spoolDir,
    });
    const standalone = new StandaloneNode(node, trace, clock, pki.generated);
    await node.start();
    if (o.controlPort !== undefined) {
      const control = new NodeControlServer({
        node,
        trace,
        advance: (ms) => {
          clock.advance(ms);
          node.queue.kick();
        },
      });
      try {
        await control.listen(directory.controlPortOfNode(o.name, o.controlPort), spec.address);
      } catch (err) {
        await node.stop();
        throw err;
      }
      standalone.control = control;
    }
    return standalone;
  }

  async stop(): Promise<void> {
    await this.control?.close();
    await this.node.stop();
  }
}
