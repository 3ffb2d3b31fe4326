import type { NodeSpec } from '@relaylab/core';
import type { Report } from './validate';
import type { FieldPath } from './yaml-positions';

/** Roles a Postfix node can play: an MTA outside Exchange (a partner, an Internet host, a gateway or filter). */
export const POSTFIX_ROLES: ReadonlyArray<NodeSpec['role']> = ['partner', 'internet', 'appliance'];

/** Settings relaylab's own MTA acts on that the Postfix instance it writes would silently ignore. */
const NOT_FOR_POSTFIX = ['remoteMailboxes', 'proxyAddresses', 'addressRewriteEntries', 'transportConfig'] as const;

export function checkPostfixNode(node: NodeSpec, here: FieldPath, report: Report): void {
  if (node.implementation !== 'postfix') return;
  if (!POSTFIX_ROLES.includes(node.role)) {
    report(
      [...here, 'implementation'],
      `implementation: postfix can play a ${POSTFIX_ROLES.join(', ')} node; role ${node.role} needs implementation: relaylab`,
    );
  }
  for (const key of NOT_FOR_POSTFIX) {
    if (node[key] !== undefined)
      report([...here, key], `${key} is not written into a Postfix node's configuration; remove it or use implementation: relaylab`, true);
  }
}
