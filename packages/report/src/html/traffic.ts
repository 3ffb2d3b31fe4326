import type { Topology } from '@relaylab/core';
import type { Fate } from '@relaylab/lab';

/** How a connection between two nodes went, which is how the diagrams colour it. */
export type LinkStatus = 'verified' | 'tls' | 'plain' | 'failed';

export interface Link {
  from: string;
  to: string;
  status: LinkStatus;
  labels: string[];
}

/** The node a destination address belongs to, or `host (ip)` for something outside the topology. */
export function nodeByAddress(topology: Topology, ip: string, host: string): string {
  const hit = Object.entries(topology.nodes).find(([, n]) => n.address === ip);
  return hit ? hit[0] : `${host} (${ip})`;
}

export function hopStatus(tls: string, verified: boolean | undefined): LinkStatus {
  if (tls === 'none') return 'plain';
  return verified ? 'verified' : 'tls';
}

/** Every connection the run's messages made, merged per pair and status. */
export function linksOf(topology: Topology, fates: readonly Fate[]): Link[] {
  const links = new Map<string, Link>();
  const add = (from: string, to: string, status: LinkStatus, label: string) => {
    const key = `${from}\u0000${to}\u0000${status}`;
    const link = links.get(key) ?? { from, to, status, labels: [] };
    if (label && !link.labels.includes(label)) link.labels.push(label);
    links.set(key, link);
  };
  for (const f of fates) {
    for (const h of f.hops) add(h.from, h.to, hopStatus(h.tls, h.certificateVerified), h.tls === 'none' ? 'plaintext' : h.tls);
    for (const a of f.failedAttempts)
      add(a.node, nodeByAddress(topology, a.destination.ip, a.destination.host), 'failed', a.replies[0]?.split(' ').slice(0, 2).join(' ') ?? a.outcome);
  }
  return [...links.values()];
}
