import type { Topology } from '@relaylab/core';
import type { Report } from '../validate';

/** How a change names a connector or rule, and the topology list that holds it. */
export const CONNECTOR_KINDS = {
  inboundConnector: 'inboundConnectors',
  outboundConnector: 'outboundConnectors',
  receiveConnector: 'receiveConnectors',
  sendConnector: 'sendConnectors',
  transportRule: 'transportRules',
} as const;
type ConnectorKind = keyof typeof CONNECTOR_KINDS;
const KINDS = Object.keys(CONNECTOR_KINDS) as ConnectorKind[];

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const same = (a: unknown, b: string) => typeof a === 'string' && a.toLowerCase() === b.toLowerCase();

/**
 * `set`, `add` or `remove` of a connector or rule as a topology merge patch (named-list form),
 * checked against the topology as it is at that point of the timeline. Undefined when the change
 * is wrong; what is wrong is reported where the change says it.
 */
export function connectorPatch(verb: 'set' | 'add' | 'remove', change: Record<string, unknown>, topology: Topology, report: Report): object | undefined {
  const node = String(change.node);
  const spec = topology.nodes[node] as unknown as Record<string, unknown> | undefined;
  if (!spec) {
    report(['node'], `no node named "${node}" in the topology (nodes: ${Object.keys(topology.nodes).join(', ')})`);
    return undefined;
  }
  const named = KINDS.filter((k) => k in change);
  if (named.length !== 1) {
    report([], `${verb} names exactly one of ${KINDS.join(', ')}; found ${named.length ? named.join(', ') : 'none'}`);
    return undefined;
  }
  const kind = named[0]!;
  const list = CONNECTOR_KINDS[kind];
  const existing = (Array.isArray(spec[list]) ? (spec[list] as unknown[]) : []).filter(isMapping);
  const value = change[kind];
  const { node: _node, [kind]: _kind, ...parameters } = change;
  const patchOf = (entries: { merge?: unknown[]; remove?: unknown[] }) => ({ nodes: { [node]: { [list]: entries } } });
  if (verb === 'add') {
    if (!isMapping(value) || typeof value.Name !== 'string') {
      report([kind], `expected the new ${kind} as a mapping with its Name, written as in a topology`);
      return undefined;
    }
    if (existing.some((c) => same(c.Name, value.Name as string))) {
      report([kind, 'Name'], `${node} already has a ${kind} named "${value.Name}": use set to change it`);
      return undefined;
    }
    if (Object.keys(parameters).length) report([Object.keys(parameters)[0]!], `add takes the whole ${kind} under ${kind}; found parameters beside it`, true);
    return patchOf({ merge: [value] });
  }
  if (typeof value !== 'string') {
    report([kind], `expected the Name of the ${kind} to ${verb}`);
    return undefined;
  }
  if (!existing.some((c) => same(c.Name, value))) {
    const names = existing.map((c) => String(c.Name));
    report([kind], `${node} has no ${kind} named "${value}"${names.length ? `; its ${list} are ${names.join(', ')}` : `; it has no ${list}`}`);
    return undefined;
  }
  if (verb === 'remove') {
    if (Object.keys(parameters).length) report([Object.keys(parameters)[0]!], `remove takes only the node and the name`, true);
    return patchOf({ remove: [value] });
  }
  if (!Object.keys(parameters).length) {
    report([kind], `set needs at least one parameter to change beside ${kind}`);
    return undefined;
  }
  if ('Name' in parameters) report(['Name'], `a connector is renamed by removing it and adding the new one`, true);
  return patchOf({ merge: [{ ...parameters, Name: value }] });
}

/** A certificate renewed, replaced or revoked: its fields merged into the topology's entry. */
export function certificatePatch(change: Record<string, unknown>, topology: Topology, report: Report): object | undefined {
  const name = String(change.name);
  const certificates = topology.certificates ?? {};
  if (!(name in certificates)) {
    report(['name'], `no certificate named "${name}" in the topology (certificates: ${Object.keys(certificates).join(', ') || 'none'})`);
    return undefined;
  }
  const { name: _name, ...fields } = change;
  if (!Object.keys(fields).length) {
    report([], 'a certificate change gives at least one of subject, sans, issuer, validity, revoked');
    return undefined;
  }
  return { certificates: { [name]: fields } };
}

const json = (v: unknown) => JSON.stringify(v ?? null);

/**
 * The nodes a topology change must make again: those whose entry changed or whose certificate
 * did; every node when an authority or a revocation changed, since each trusts what they say.
 */
export function nodesChangedBy(before: Topology, after: Topology): string[] {
  const names = Object.keys(after.nodes);
  const trustChanged =
    json(before.authorities) !== json(after.authorities) ||
    Object.keys(after.certificates ?? {}).some((c) => json(before.certificates?.[c]?.revoked) !== json(after.certificates?.[c]?.revoked));
  if (trustChanged) return names;
  return names.filter((n) => {
    const a = before.nodes[n];
    const b = after.nodes[n];
    if (json(a) !== json(b)) return true;
    const cert = b?.certificate;
    return cert !== undefined && json(before.certificates?.[cert]) !== json(after.certificates?.[cert]);
  });
}
