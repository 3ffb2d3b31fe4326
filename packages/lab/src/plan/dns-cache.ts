import { DnsError, normalizeName, StaticResolver, type Clock, type DnsSpec, type MxRecord, type NodeSpec, type Resolver } from '@relaylab/core';

/**
 * The lab's DNS as a rehearsal changes it: the records as they now are, each name with the TTL
 * it was last published with.
 */
export class LiveZone {
  private current: StaticResolver;
  private readonly ttls = new Map<string, number>();

  constructor(
    dns: DnsSpec | undefined,
    private readonly nodes: Record<string, NodeSpec>,
    private readonly defaultTtlMs: number,
  ) {
    this.current = new StaticResolver(dns, nodes);
  }

  /** New records; `changed` names carry `ttlMs` from now on. */
  publish(dns: DnsSpec, changed: readonly string[], ttlMs: number): void {
    this.current = new StaticResolver(dns, this.nodes);
    for (const name of changed) this.ttls.set(normalizeName(name), ttlMs || this.defaultTtlMs);
  }

  ttlOf(name: string): number {
    return this.ttls.get(normalizeName(name)) ?? this.defaultTtlMs;
  }

  get resolver(): Resolver {
    return this.current;
  }
}

/**
 * One node's resolver: it keeps each answer for the TTL the record had when it was asked, on the
 * lab clock, as a sending MTA's resolver does. So after an MX change a sender goes on using the
 * old MX until its copy expires. Failures are not kept (no negative caching): a sender asks again.
 */
export class CachingResolver implements Resolver {
  private readonly cache = new Map<string, { value: unknown; expires: number }>();

  constructor(
    private readonly zone: LiveZone,
    private readonly clock: Clock,
  ) {}

  mx(domain: string): Promise<MxRecord[]> {
    return this.cached(`mx:${normalizeName(domain)}`, domain, () => this.zone.resolver.mx(domain));
  }

  a(host: string): Promise<string[]> {
    return this.cached(`a:${normalizeName(host)}`, host, () => this.zone.resolver.a(host));
  }

  private async cached<T>(key: string, name: string, ask: () => Promise<T>): Promise<T> {
    const now = this.clock.now().getTime();
    const hit = this.cache.get(key);
    if (hit && hit.expires > now) return hit.value as T;
    try {
      const value = await ask();
      this.cache.set(key, { value, expires: now + this.zone.ttlOf(name) });
      return value;
    } catch (err) {
      if (!(err instanceof DnsError)) throw err;
      this.cache.delete(key);
      throw err;
    }
  }
}
