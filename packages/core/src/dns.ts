import type { DnsSpec, MxRecord, NodeSpec } from './model';
import { normalizeName } from './names';

/** The one resolver interface the nodes use; the static one serves a topology's records. */
export interface Resolver {
  mx(domain: string): Promise<MxRecord[]>;
  a(host: string): Promise<string[]>;
}

export class DnsError extends Error {
  constructor(
    readonly query: string,
    message: string,
  ) {
    super(message);
  }
}

export class StaticResolver implements Resolver {
  private readonly mxRecords = new Map<string, MxRecord[]>();
  private readonly aRecords = new Map<string, string[]>();

  constructor(dns: DnsSpec | undefined, nodes: Record<string, NodeSpec>) {
    for (const node of Object.values(nodes)) this.addA(node.hostname, node.address);
    for (const [host, ip] of Object.entries(dns?.a ?? {})) this.addA(host, ip);
    for (const [domain, entries] of Object.entries(dns?.mx ?? {})) {
      const records = entries.map((e, i) => (typeof e === 'string' ? { exchange: e, preference: 10 * (i + 1) } : e));
      this.mxRecords.set(
        normalizeName(domain),
        records.sort((x, y) => x.preference - y.preference),
      );
    }
  }

  private addA(host: string, ip: string): void {
    const key = normalizeName(host);
    const list = this.aRecords.get(key) ?? [];
    if (!list.includes(ip)) list.push(ip);
    this.aRecords.set(key, list);
  }

  async mx(domain: string): Promise<MxRecord[]> {
    const records = this.mxRecords.get(normalizeName(domain));
    if (records) return records;
    // RFC 5321 5.1: without MX the domain itself is the implicit MX when it has an address
    if (this.aRecords.has(normalizeName(domain))) return [{ exchange: normalizeName(domain), preference: 0 }];
    throw new DnsError(domain, `no MX or A record for ${domain}`);
  }

  async a(host: string): Promise<string[]> {
    const records = this.aRecords.get(normalizeName(host));
    if (!records) throw new DnsError(host, `no A record for ${host}`);
    return records;
  }
}
