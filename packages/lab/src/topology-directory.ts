import type { Topology } from '@relaylab/core';
import type { Directory } from '@relaylab/mta';

/** The port every node listens on when the lab runs one node per process (2525 by default). */
export const NODE_PORT = 2525;

/** Where a node's control API listens, on the node's own address. */
export const CONTROL_PORT = 8025;

export interface TopologyDirectory extends Directory {
  portOfNode(name: string): number;
  /** The node behind an address; where tenants share one, the one with that host name. */
  nodeFor(ip: string, host?: string): string | undefined;
  /** The control API port: `base`, plus one for each node listed before it on the same address. */
  controlPortOfNode(name: string, base?: number): number;
}

/**
 * Ports and names of the other nodes when each node is its own process: nobody can ask a shared
 * Lab object, so the topology is the directory, and every process computes the same one.
 *
 * Each node has its own address, so one port (`port`, else 2525) on every address serves all.
 * A node that gives its own `port` keeps it. Nodes that share an address (two Exchange Online
 * tenants sending from the same EOP address) take the next ports in the order the file lists
 * them; mail for that address goes to the one whose host name was looked up (the first otherwise).
 */
export function topologyDirectory(topology: Topology, port?: number): TopologyDirectory {
  const base = port ?? NODE_PORT;
  const ports = new Map<string, number>();
  const byAddress = new Map<string, string[]>();
  for (const [name, spec] of Object.entries(topology.nodes)) {
    const sharing = byAddress.get(spec.address) ?? [];
    const taken = new Set(sharing.map((n) => ports.get(n)));
    let p = port === undefined && spec.port !== undefined ? spec.port : base;
    while (taken.has(p)) p++;
    ports.set(name, p);
    byAddress.set(spec.address, [...sharing, name]);
  }
  const portOfNode = (name: string) => ports.get(name) ?? base;
  const nodeFor = (ip: string, host?: string): string | undefined => {
    const names = byAddress.get(ip) ?? [];
    const wanted = host?.toLowerCase();
    return names.find((n) => topology.nodes[n]!.hostname.toLowerCase() === wanted) ?? names[0];
  };
  return {
    portOfNode,
    controlPortOfNode: (name, controlBase = CONTROL_PORT) => {
      const spec = topology.nodes[name];
      return controlBase + Math.max(0, ((spec && byAddress.get(spec.address)) ?? []).indexOf(name));
    },
    nodeFor,
    portOf: (ip, host) => {
      const node = nodeFor(ip, host);
      return node ? portOfNode(node) : base;
    },
    nodeAt: (ip, p) => byAddress.get(ip)?.find((n) => p === 0 || portOfNode(n) === p),
  };
}

/**
 * The node a STARTTLS-stripping proxy stands in for. Proxies listen on their target's address,
 * so a port there that no node owns names the detour's target (for the trace's `by`).
 */
export function detourTarget(topology: Topology, detours: Iterable<{ to: string; port: number }>, ip: string, port: number): string | undefined {
  for (const d of detours) if (d.port === port && topology.nodes[d.to]?.address === ip) return d.to;
  return undefined;
}
