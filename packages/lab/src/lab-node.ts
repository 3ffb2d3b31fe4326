import type { MailNode } from '@relaylab/mta';
import { PassThroughNode } from './passthrough-node';
import { PostfixNode } from './postfix/postfix-node';
import { createTopologyNode, type TopologyNodeOptions } from './topology-node';

/** A node of a running lab: relaylab's own MTA, a real Postfix it configured and runs, or a pass-through device. */
export type LabNode = MailNode | PostfixNode | PassThroughNode;

/** The node the topology describes, played by whichever implementation it names. */
export async function createLabNode(options: TopologyNodeOptions): Promise<LabNode> {
  const spec = options.topology.nodes[options.name];
  if (spec?.role === 'passthrough') {
    const { topology, name, clock, trace, directory } = options;
    return new PassThroughNode({ topology, name, clock, trace, directory, port: options.port ?? 0 });
  }
  if (spec?.implementation !== 'postfix') return createTopologyNode(options);
  if (!options.spoolDir) throw new Error(`node ${options.name} runs Postfix, which needs a working folder (spoolDir) for its instance`);
  return new PostfixNode({
    topology: options.topology,
    name: options.name,
    certificates: options.certificates,
    resolver: options.resolver,
    clock: options.clock,
    trace: options.trace,
    portOf: (ip, host) => options.directory.portOf(ip, host),
    port: options.port,
    dir: options.spoolDir,
    logger: options.logger,
  });
}

/**
 * Starts a lab's nodes. Postfix reaches the others at ports written into its configuration, so
 * every Postfix node has its port before any node starts, and starts once the others listen.
 */
export async function startLabNodes(nodes: LabNode[]): Promise<void> {
  const postfix = nodes.filter((n): n is PostfixNode => n instanceof PostfixNode);
  await Promise.all(postfix.map((n) => n.reservePort()));
  await Promise.all(nodes.filter((n) => !(n instanceof PostfixNode)).map((n) => n.start()));
  await Promise.all(postfix.map((n) => n.start()));
}

/** Faults that act on relaylab's own listener and client: a Postfix node has neither. */
export function relaylabNode(node: LabNode, what: string): MailNode {
  if (node instanceof PostfixNode) throw new Error(`node ${node.name} runs Postfix: ${what} acts on relaylab's own MTA, not on Postfix`);
  if (node instanceof PassThroughNode) throw new Error(`node ${node.name} is a pass-through device: ${what} acts on an MTA, and it speaks no SMTP`);
  return node;
}
