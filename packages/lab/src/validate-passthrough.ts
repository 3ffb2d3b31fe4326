import type { NodeSpec, Topology } from '@relaylab/core';
import type { FieldPath } from './yaml-positions';
import type { Report } from './validate';

/** What a pass-through device cannot have: it forwards TCP and speaks no SMTP, so it has no mail of its own. */
const SMTP_ONLY: Array<keyof NodeSpec> = [
  'mailboxes',
  'certificate',
  'inboundConnectors',
  'outboundConnectors',
  'receiveConnectors',
  'sendConnectors',
  'transportRules',
  'remoteMailboxes',
  'stripHeaders',
];

/** role passthrough needs forwardTo naming another node that is no pass-through loop; forwardTo belongs to that role only. */
export function checkPassThroughNode(topology: Topology, name: string, node: NodeSpec, here: FieldPath, report: Report): void {
  if (node.role !== 'passthrough') {
    if (node.forwardTo !== undefined)
      report([...here, 'forwardTo'], `forwardTo belongs to pass-through devices (role passthrough); a ${node.role} node relays by its connectors`, true);
    return;
  }
  if (node.forwardTo === undefined) {
    report([...here, 'role'], 'a pass-through device needs forwardTo: the node it forwards every connection to');
    return;
  }
  const names = Object.keys(topology.nodes);
  if (!names.includes(node.forwardTo)) {
    report([...here, 'forwardTo'], `unknown node "${node.forwardTo}"; expected one of ${names.filter((n) => n !== name).join(', ')}`);
    return;
  }
  const seen = [name];
  for (let next: string | undefined = node.forwardTo; next !== undefined; next = topology.nodes[next]?.forwardTo) {
    if (seen.includes(next)) {
      report([...here, 'forwardTo'], `pass-through devices forward to each other in a loop: ${[...seen, next].join(' → ')}`);
      return;
    }
    seen.push(next);
    if (topology.nodes[next]?.role !== 'passthrough') break;
  }
  for (const key of SMTP_ONLY) {
    if (node[key] !== undefined) report([...here, key], `a pass-through device forwards TCP and speaks no SMTP: it has no ${key}`, true);
  }
}
