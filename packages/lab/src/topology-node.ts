import { nodeContext, type Topology } from '@relaylab/core';
import { MailNode, type MailNodeOptions } from '@relaylab/mta';
import { trustStoreFor, type LabCertificates } from '@relaylab/pki';

/**
 * A MailNode's runtime options, with the topology, the node's name and the lab's certificates in
 * place of the policy context and key material, which are made from them here.
 */
export type TopologyNodeOptions = Omit<MailNodeOptions, 'ctx' | 'material'> & {
  topology: Topology;
  name: string;
  certificates: LabCertificates;
};

/**
 * One node of a topology as a MailNode: its policy context, its certificate and the authorities
 * it trusts. The embedded Lab and a node in its own process (StandaloneNode) both build nodes here.
 */
export async function createTopologyNode(options: TopologyNodeOptions): Promise<MailNode> {
  const spec = options.topology.nodes[options.name];
  if (!spec) throw new Error(`no node named "${options.name}" in the topology (nodes: ${Object.keys(options.topology.nodes).join(', ')})`);
  const cert = spec.certificate ? options.certificates.certificates.get(spec.certificate) : undefined;
  const { topology, name, certificates, ...runtime } = options;
  return new MailNode({
    ...runtime,
    ctx: nodeContext(name, spec, topology.organizations),
    material: {
      key: cert?.keyPem,
      // leafOnly: the misconfigured server whose peers cannot build the chain to the root
      chainPem: spec.tls?.presentChain === 'leafOnly' ? cert?.certPem : cert?.chainPem,
      trust: await trustStoreFor(certificates, spec.trust),
    },
  });
}
