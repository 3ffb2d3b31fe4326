import { DnsError, nodeContext, normalizeName, selectOutboundRoute, type Resolver, type Topology } from '@relaylab/core';
import type { PostfixRoute } from './config';

/** Every domain the lab knows of: MX records, organizations' domains, mailboxes' domains. */
export function labDomains(topology: Topology): string[] {
  const domains = [
    ...Object.keys(topology.dns?.mx ?? {}),
    ...Object.values(topology.organizations ?? {}).flatMap((o) => o.domains),
    ...Object.values(topology.nodes).flatMap((n) => (n.mailboxes ?? []).map((m) => m.slice(m.lastIndexOf('@') + 1))),
  ];
  return [...new Set(domains.map(normalizeName))].sort();
}

const isIp = (host: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(host);

/**
 * A lookup that waits for the lab's DNS service: one node per process starts beside it, and the
 * routes are written at start, not at the first delivery. Only "no such name" (DnsError) is an answer.
 */
async function patiently<T>(lookup: () => Promise<T>, deadline = Date.now() + 15_000): Promise<T> {
  for (;;) {
    try {
      return await lookup();
    } catch (err) {
      if (err instanceof DnsError || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Where a Postfix node sends each of the lab's domains: the connector relaylab's own nodes would
 * pick (core's selectOutboundRoute), its smart host or the domain's first MX in the lab's DNS,
 * and that host's port in the lab. Domains with no route, or whose name does not resolve, get no
 * entry: Postfix's default_transport then bounces them as unroutable.
 */
export async function postfixRoutes(
  topology: Topology,
  name: string,
  resolver: Resolver,
  portOf: (ip: string, host: string) => number,
): Promise<PostfixRoute[]> {
  const spec = topology.nodes[name];
  if (!spec) throw new Error(`no node named "${name}" in the topology`);
  const ctx = nodeContext(name, spec, topology.organizations);
  const routes: PostfixRoute[] = [];
  for (const domain of labDomains(topology)) {
    if (ctx.mailboxes.size && [...ctx.mailboxes].some((m) => m.endsWith(`@${domain}`))) continue;
    const route = selectOutboundRoute(ctx.routes, domain, ctx.preset);
    if (!route) continue;
    try {
      const host = route.smartHosts[0] ?? (await patiently(() => resolver.mx(domain)))[0]?.exchange;
      if (!host) continue;
      const ip = isIp(host) ? host : (await patiently(() => resolver.a(host)))[0];
      if (!ip) continue;
      routes.push({
        domain,
        connector: route.connector,
        host,
        ip,
        port: portOf(ip, host),
        requirement: route.tls.requirement,
        ignoreStartTls: route.ignoreStartTls,
        tlsDomain: route.tls.tlsDomain,
      });
    } catch (err) {
      if (!(err instanceof DnsError)) throw err;
    }
  }
  return routes;
}
