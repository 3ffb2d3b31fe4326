import type { Logger } from 'pino';
import { nodeContext, type Clock, type Resolver, type Topology, type TraceSink } from '@relaylab/core';
import { MailNode, type Directory, type ListenerTimeouts } from '@relaylab/mta';
import { trustStoreFor, type LabCertificates } from '@relaylab/pki';

export interface TopologyNodeOptions {
  topology: Topology;
  name: string;
  certificates: LabCertificates;
  resolver: Resolver;
  clock: Clock;
  trace: TraceSink;
  /** The node's own directory, so a detour (stripStartTls) can apply to this sender only. */
  directory: Directory;
  logger?: Logger;
  port: number;
  spoolDir?: string;
  maxMessagesPerConnection?: number;
  timeouts?: ListenerTimeouts;
}

/**
 * One node of a topology as a MailNode: its policy context, its certificate and the authorities
 * it trusts. The embedded Lab and a node in its own process (StandaloneNode) both build nodes here.
 */
export async function createTopologyNode(o: TopologyNodeOptions): Promise<MailNode> {
  const spec = o.topology.nodes[o.name];
  if (!spec) throw new Error(`no node named "${o.name}" in the topology (nodes: ${Object.keys(o.topology.nodes).join(', ')})`);
  const cert = spec.certificate ? o.certificates.certificates.get(spec.certificate) : undefined;
  return new MailNode({
    ctx: nodeContext(o.name, spec, o.topology.organizations),
    material: { key: cert?.keyPem, chainPem: cert?.chainPem, trust: await trustStoreFor(o.certificates, spec.trust) },
    resolver: o.resolver,
    clock: o.clock,
    trace: o.trace,
    directory: o.directory,
    logger: o.logger,
    port: o.port,
    spoolDir: o.spoolDir,
    maxMessagesPerConnection: o.maxMessagesPerConnection,
    timeouts: o.timeouts,
  });
}
