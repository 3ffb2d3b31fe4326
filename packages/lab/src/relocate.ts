import type { Topology } from '@relaylab/core';

const LOOPBACK = /\b127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(\/\d{1,2})?\b/g;

/**
 * The topology with its 127.0.y.z addresses moved to `prefix.y.z` (e.g. `172.30` → 172.30.y.z).
 *
 * Why: containers cannot own loopback addresses, so under docker-compose every node gets the
 * address at the same place in the compose network's /16. Every IP in the topology moves, not
 * only node addresses: a receive connector's RemoteIPRanges or an inbound connector's
 * SenderIPAddresses still has to name the same host after the move, or policy would judge a
 * different network than the one the file describes. The walk is generic so fields added to the
 * model later move too. What cannot move faithfully (127.x with x ≠ 0, a prefix shorter than /16)
 * is refused rather than approximated.
 */
export function relocateTopology(topology: Topology, prefix: string): Topology {
  if (!/^\d{1,3}\.\d{1,3}$/.test(prefix) || prefix.split('.').some((o) => Number(o) > 255)) {
    throw new Error(`relocation prefix "${prefix}" must be the first two octets of a /16, e.g. 172.30`);
  }
  const move = (text: string, where: string) => relocateText(text, prefix, where);
  const walk = (value: unknown, where: string): unknown => {
    if (typeof value === 'string') return move(value, where);
    if (Array.isArray(value)) return value.map((v, i) => walk(v, `${where}[${i}]`));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [move(k, where), walk(v, where ? `${where}.${k}` : k)]));
    }
    return value;
  };
  return walk(topology, '') as Topology;
}

/** Every 127.0.y.z in `text` moved to `prefix.y.z`; `where` names the field in errors. */
export function relocateText(text: string, prefix: string, where = 'address'): string {
  return text.replace(LOOPBACK, (whole, x: string, y: string, z: string, bits?: string) => {
    if (x !== '0') throw new Error(`${where}: ${whole} is outside 127.0.0.0/16 and cannot be relocated to ${prefix}.0.0/16`);
    if (bits && Number(bits.slice(1)) < 16) throw new Error(`${where}: ${whole} is wider than a /16 and cannot be relocated to ${prefix}.0.0/16`);
    return `${prefix}.${y}.${z}${bits ?? ''}`;
  });
}
