/** IPv4 ranges as Exchange writes them: `10.0.0.5`, `10.0.0.0/24`, `10.0.0.1-10.0.0.9`. */

function toNumber(ip: string): number | undefined {
  const parts = ip.trim().split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    n = n * 256 + Number(part);
  }
  return n;
}

export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

export interface IpRange {
  first: number;
  last: number;
  text: string;
}

export function parseIpRange(text: string): IpRange | undefined {
  const t = text.trim();
  if (t === '0.0.0.0-255.255.255.255' || t === '*') return { first: 0, last: 0xffffffff, text: t };
  const cidr = /^([\d.]+)\/(\d{1,2})$/.exec(t);
  if (cidr) {
    const base = toNumber(cidr[1]!);
    const bits = Number(cidr[2]);
    if (base === undefined || bits > 32) return undefined;
    const size = 2 ** (32 - bits);
    const first = Math.floor(base / size) * size;
    return { first, last: first + size - 1, text: t };
  }
  const dash = /^([\d.]+)\s*-\s*([\d.]+)$/.exec(t);
  if (dash) {
    const first = toNumber(dash[1]!);
    const last = toNumber(dash[2]!);
    return first !== undefined && last !== undefined && first <= last ? { first, last, text: t } : undefined;
  }
  const single = toNumber(t);
  return single === undefined ? undefined : { first: single, last: single, text: t };
}

export function ipInRange(ip: string, range: IpRange): boolean {
  const n = toNumber(normalizeIp(ip));
  return n !== undefined && n >= range.first && n <= range.last;
}

/**
 * Ranges as read once: the same few lists (allow lists, RemoteIPRanges) are checked for every
 * message. Bounded, in case something feeds it ranges without end.
 */
const ranges = new Map<string, IpRange | undefined>();
function rangeOf(text: string): IpRange | undefined {
  if (ranges.has(text)) return ranges.get(text);
  if (ranges.size >= 4096) ranges.clear();
  const range = parseIpRange(text);
  ranges.set(text, range && Object.freeze(range));
  return range;
}

/** The smallest listed range that holds `ip`, Exchange's rule for picking a receive connector. */
export function narrowestMatch(ip: string, list: readonly string[]): IpRange | undefined {
  const n = toNumber(normalizeIp(ip));
  if (n === undefined) return undefined;
  let best: IpRange | undefined;
  for (const text of list) {
    const r = rangeOf(text);
    if (r && n >= r.first && n <= r.last && (!best || r.last - r.first < best.last - best.first)) best = r;
  }
  return best;
}

export function ipListed(ip: string, ranges: readonly string[] | undefined): boolean {
  return !!ranges && narrowestMatch(ip, ranges) !== undefined;
}
