import { Resolver as NodeResolver } from 'node:dns/promises';
import { DnsError, normalizeName, type MxRecord, type Resolver } from '@relaylab/core';

/** `127.0.0.53:5300`, or a bare IPv4 address for port 53 (the lab is IPv4 only). */
export function parseServer(text: string): { address: string; port: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(text.trim());
  if (!m) throw new Error(`DNS server "${text}" is not an IPv4 address with an optional :port`);
  return { address: m[1]!, port: m[2] ? Number(m[2]) : 53 };
}

const NO_SUCH_NAME = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME']);

/**
 * The node's Resolver when the topology's DNS runs as its own service (process and container
 * modes): real queries over UDP to one server. Only "no such name/record" becomes a DnsError
 * (a permanent 5.4.4 for the sender); a timeout or SERVFAIL is thrown as is, so the message is
 * retried, as an MTA does when its DNS is down.
 */
export class NetworkResolver implements Resolver {
  private readonly resolver: NodeResolver;

  constructor(
    readonly server: string,
    options: { timeoutMs?: number; tries?: number } = {},
  ) {
    this.resolver = new NodeResolver({ timeout: options.timeoutMs ?? 2000, tries: options.tries ?? 2 });
    const { address, port } = parseServer(server);
    this.resolver.setServers([`${address}:${port}`]);
  }

  async mx(domain: string): Promise<MxRecord[]> {
    try {
      const records = await this.resolver.resolveMx(normalizeName(domain));
      if (records.length)
        return records.map((r) => ({ exchange: normalizeName(r.exchange), preference: r.priority })).sort((x, y) => x.preference - y.preference);
    } catch (err) {
      if (!NO_SUCH_NAME.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    }
    // RFC 5321 5.1: without MX the domain itself is the implicit MX when it has an address
    try {
      await this.a(domain);
    } catch (err) {
      if (err instanceof DnsError) throw new DnsError(domain, `no MX or A record for ${domain}`);
      throw err;
    }
    return [{ exchange: normalizeName(domain), preference: 0 }];
  }

  async a(host: string): Promise<string[]> {
    try {
      const list = await this.resolver.resolve4(normalizeName(host));
      if (list.length) return list;
    } catch (err) {
      if (!NO_SUCH_NAME.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    }
    throw new DnsError(host, `no A record for ${host}`);
  }
}
