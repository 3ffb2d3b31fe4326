import type { Topology } from '@relaylab/core';
import type { Scenario } from './scenario-model';

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
  return relocateTree(topology, '', (text, where) => relocateText(text, prefix, where)) as Topology;
}

/**
 * The scenario as it must be played and judged when its lab runs at `prefix.y.z`: its topology
 * moves (relocateTopology) and so does every address the scenario names itself, in its messages,
 * its steps and its expectations. An expectation such as `Received: from mail.contoso.example
 * (127.0.0.10)` describes a host, not a number: under docker-compose that host is 172.30.0.10 and
 * the header says so. A header's `matches` is a regular expression, so it moves by its
 * `127\.0\.` prefix, escaped or not: `\(127\.0\.0\.10\)` and `127\.0\.0\.\d+` both move.
 */
export function relocateScenario(scenario: Scenario, prefix: string): Scenario {
  const topology = relocateTopology(scenario.topology, prefix);
  const move = (text: string, where: string, key: string) => (key === 'matches' ? relocatePattern(text, prefix, where) : relocateText(text, prefix, where));
  const part = <T>(value: T, where: string): T => relocateTree(value, where, move) as T;
  return {
    ...scenario,
    topology,
    messages: part(scenario.messages, `${scenario.name}: messages`),
    ...(scenario.steps ? { steps: part(scenario.steps, `${scenario.name}: steps`) } : {}),
    expect: part(scenario.expect, `${scenario.name}: expect`),
  };
}

/** Every string (and key) of a parsed YAML tree through `move`; `key` is the field the string is the value of. */
function relocateTree(value: unknown, where: string, move: (text: string, where: string, key: string) => string, key = ''): unknown {
  if (typeof value === 'string') return move(value, where, key);
  if (Array.isArray(value)) return value.map((v, i) => relocateTree(v, `${where}[${i}]`, move, key));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [move(k, where, ''), relocateTree(v, where ? `${where}.${k}` : k, move, k)]));
  }
  return value;
}

/** 127.0. at the start of an address in a regular expression, its dots escaped or not (not inside 10.127.0.5). */
const PATTERN_PREFIX = /(?<![\d.])127(\\?\.)0(\\?\.)/g;
/** A literal 127.x. with x ≠ 0 in a regular expression, which no /16 relocation can follow. */
const PATTERN_OUTSIDE = /(?<![\d.])127(\\?\.)[1-9]\d{0,2}\\?\./;

/** A regular expression's loopback addresses moved to `prefix`; `where` names the field in errors. */
export function relocatePattern(pattern: string, prefix: string, where = 'pattern'): string {
  const outside = PATTERN_OUTSIDE.exec(pattern);
  if (outside) throw new Error(`${where}: /${pattern}/ names ${outside[0]}…, outside 127.0.0.0/16, and cannot be relocated to ${prefix}.0.0/16`);
  const [a, b] = prefix.split('.');
  return pattern.replace(PATTERN_PREFIX, (_whole, dot1: string, dot2: string) => `${a}${dot1}${b}${dot2}`);
}

/** Every 127.0.y.z in `text` moved to `prefix.y.z`; `where` names the field in errors. */
export function relocateText(text: string, prefix: string, where = 'address'): string {
  return text.replace(LOOPBACK, (whole, x: string, y: string, z: string, bits?: string) => {
    if (x !== '0') throw new Error(`${where}: ${whole} is outside 127.0.0.0/16 and cannot be relocated to ${prefix}.0.0/16`);
    if (bits && Number(bits.slice(1)) < 16) throw new Error(`${where}: ${whole} is wider than a /16 and cannot be relocated to ${prefix}.0.0/16`);
    return `${prefix}.${y}.${z}${bits ?? ''}`;
  });
}
