import { normalizeName, type MxRecord, type Topology } from '@relaylab/core';

/**
 * The records a topology publishes: one A record per node hostname, the `dns.a` extras and the
 * `dns.mx` lists as written. Unlike StaticResolver there is no implicit MX here: a DNS server
 * answers what is published, and the resolver applies RFC 5321's A fallback, as real MTAs do.
 */
export interface Zone {
  a: Map<string, string[]>;
  mx: Map<string, MxRecord[]>;
}

export function zoneOf(topology: Topology): Zone {
  const zone: Zone = { a: new Map(), mx: new Map() };
  const addA = (host: string, ip: string) => {
    const key = normalizeName(host);
    const list = zone.a.get(key) ?? [];
    if (!list.includes(ip)) list.push(ip);
    zone.a.set(key, list);
  };
  for (const node of Object.values(topology.nodes)) addA(node.hostname, node.address);
  for (const [host, ip] of Object.entries(topology.dns?.a ?? {})) addA(host, ip);
  for (const [domain, entries] of Object.entries(topology.dns?.mx ?? {})) {
    const records = entries.map((e, i) => (typeof e === 'string' ? { exchange: e, preference: 10 * (i + 1) } : e));
    zone.mx.set(
      normalizeName(domain),
      records.sort((x, y) => x.preference - y.preference),
    );
  }
  return zone;
}
