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
export async function createTopologyNode(options: TopologyNodeOptions): Promise<MailNode> {
  const spec = options.topology.nodes[options.name];
  if (!spec) throw new Error(`no node named "${options.name}" in the topology (nodes: ${Object.keys(options.topology.nodes).join(', ')})`);
  const cert = spec.certificate ? options.certificates.certificates.get(spec.certificate) : undefined;
  return new MailNode({
    ctx: nodeContext(options.name, spec, options.topology.organizations),
    material: { key: cert?.keyPem, chainPem: cert?.chainPem, trust: await trustStoreFor(options.certificates, spec.trust) },
    resolver: options.resolver,
    clock: options.clock,
    trace: options.trace,
    directory: options.directory,
    logger: options.logger,
    port: options.port,
    spoolDir: options.spoolDir,
    maxMessagesPerConnection: options.maxMessagesPerConnection,
    timeouts: options.timeouts,
  });
}
