import { selectOutboundRoute, type OutboundRoute } from '../connectors';
import type { NodeSpec, Topology } from '../model';
import { namesMatch, normalizeName } from '../names';
import { nodeContext, type NodeContext } from '../routing';
import type { CertificateFacts, LintFinding, LintInput } from './finding';

const DAY = 86_400_000;

/** One check: pure, reads the topology and the certificate facts, returns what it found. */
export type LintCheck = (view: TopologyView) => LintFinding[];

export interface NamedNode {
  name: string;
  spec: NodeSpec;
}

/** The topology as the checks ask about it: who is who, what a host name reaches, what a node presents. */
export class TopologyView {
  readonly topology: Topology;
  readonly now: Date;
  readonly expiryWarningDays: number;
  readonly nodes: NamedNode[];
  private readonly facts: Record<string, CertificateFacts>;
  private readonly contexts = new Map<string, NodeContext>();

  constructor(input: LintInput) {
    this.topology = input.topology;
    this.now = input.now;
    this.expiryWarningDays = input.expiryWarningDays ?? 30;
    this.facts = input.certificates ?? {};
    this.nodes = Object.entries(input.topology.nodes).map(([name, spec]) => ({ name, spec }));
  }

  /** Exchange Server and Edge nodes: the on-premises side of a hybrid. */
  onPremises(organization?: string): NamedNode[] {
    return this.nodes.filter((n) => (n.spec.role === 'exchange-server' || n.spec.role === 'edge') && (!organization || n.spec.organization === organization));
  }

  online(organization?: string): NamedNode[] {
    return this.nodes.filter((n) => n.spec.role === 'exchange-online' && (!organization || n.spec.organization === organization));
  }

  context(node: NamedNode): NodeContext {
    let ctx = this.contexts.get(node.name);
    if (!ctx) {
      ctx = nodeContext(node.name, node.spec, this.topology.organizations);
      this.contexts.set(node.name, ctx);
    }
    return ctx;
  }

  /** The connector this node would pick for a domain (the most specific address space), if any. */
  route(node: NamedNode, domain: string): OutboundRoute | undefined {
    const ctx = this.context(node);
    return selectOutboundRoute(ctx.routes, domain, ctx.preset);
  }

  /** Addresses a host name resolves to in the topology: a node's own name, an A record, or an IP literal. */
  addressesOf(host: string): string[] {
    const h = normalizeName(host);
    if (/^\d+\.\d+\.\d+\.\d+$/.test(h)) return [h];
    const out = this.nodes.filter((n) => normalizeName(n.spec.hostname) === h).map((n) => n.spec.address);
    for (const [name, ip] of Object.entries(this.topology.dns?.a ?? {})) if (normalizeName(name) === h) out.push(ip);
    return [...new Set(out)];
  }

  /**
   * The nodes a connection to `host` may reach. Several nodes can share an address (every
   * tenant's EOP is one service), so the node whose own host name it is comes first and alone.
   */
  nodesAt(host: string): NamedNode[] {
    const h = normalizeName(host);
    const named = this.nodes.filter((n) => normalizeName(n.spec.hostname) === h);
    const ips = this.addressesOf(host);
    return (named.length ? named : this.nodes.filter((n) => ips.includes(n.spec.address))).map((n) => this.behindPassthrough(n));
  }

  /** A pass-through device (a firewall passing port 25) is not an SMTP hop: the connection reaches the node it forwards to. */
  private behindPassthrough(node: NamedNode, seen = new Set<string>()): NamedNode {
    if (node.spec.role !== 'passthrough' || !node.spec.forwardTo || seen.has(node.name)) return node;
    seen.add(node.name);
    const target = this.nodes.find((n) => n.name === node.spec.forwardTo);
    return target ? this.behindPassthrough(target, seen) : node;
  }

  /** MX hosts of a domain, most preferred first; the domain itself when only an A record exists (RFC 5321 §5.1). */
  mxHosts(domain: string): string[] {
    const d = normalizeName(domain);
    const entry = Object.entries(this.topology.dns?.mx ?? {}).find(([k]) => normalizeName(k) === d);
    if (entry) {
      return entry[1]
        .map((e, i) => (typeof e === 'string' ? { exchange: e, preference: 10 * (i + 1) } : e))
        .sort((a, b) => a.preference - b.preference)
        .map((r) => r.exchange);
    }
    return this.addressesOf(d).length ? [d] : [];
  }

  /** Where a route from `node` to `domain` leads: its smart hosts, or the domain's MX hosts. */
  nextHops(route: OutboundRoute, domain: string): { host: string; nodes: NamedNode[] }[] {
    const hosts = route.smartHosts.length ? route.smartHosts : this.mxHosts(domain);
    return hosts.map((host) => ({ host, nodes: this.nodesAt(host) }));
  }

  /** The certificate a node presents (as server and as client), with its name in `certificates`. */
  certificateOf(node: NamedNode): { name: string; facts: CertificateFacts } | undefined {
    const name = node.spec.certificate;
    if (!name) return undefined;
    const facts = this.facts[name];
    if (facts) return { name, facts };
    const spec = this.topology.certificates?.[name];
    if (!spec) return undefined;
    return { name, facts: { commonName: spec.subject, sans: spec.sans?.length ? spec.sans : [spec.subject], notBefore: '', notAfter: '' } };
  }

  /** Names TlsSenderCertificateName is compared with: subject and SANs. */
  subjectOrSans(facts: CertificateFacts): string[] {
    return [...new Set([...(facts.commonName ? [facts.commonName] : []), ...facts.sans])];
  }

  /** Names a DomainValidation client checks (RFC 6125): the SANs, the CN only when there are none. */
  identityNames(facts: CertificateFacts): string[] {
    return facts.sans.length ? facts.sans : facts.commonName ? [facts.commonName] : [];
  }

  presents(node: NamedNode, expected: string, as: 'client' | 'server'): boolean {
    const cert = this.certificateOf(node);
    if (!cert) return false;
    const names = as === 'client' ? this.subjectOrSans(cert.facts) : this.identityNames(cert.facts);
    return names.some((n) => namesMatch(expected, n));
  }

  /** Days until a certificate's notAfter; undefined when the facts carry no date. */
  daysLeft(facts: CertificateFacts): number | undefined {
    if (!facts.notAfter) return undefined;
    return Math.floor((Date.parse(facts.notAfter) - this.now.getTime()) / DAY);
  }

  acceptedDomains(organization: string | undefined): string[] {
    return organization ? (this.topology.organizations?.[organization]?.domains ?? []).map(normalizeName) : [];
  }
}
