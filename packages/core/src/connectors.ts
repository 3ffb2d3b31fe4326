import type { NodeSpec, OutboundConnector, SendConnector } from './model';
import { domainMatches, domainSpecificity } from './names';
import { addressSpaceDomain } from './powershell-values';
import type { RolePreset } from './roles';
import type { OutboundTlsPolicy } from './tls-outbound';

/** An outbound connector or send connector reduced to what delivery needs. */
export interface OutboundRoute {
  connector: string;
  kind: 'OutboundConnector' | 'SendConnector' | 'Default';
  domains: string[];
  /** Empty: route by MX of the recipient domain. */
  smartHosts: string[];
  tls: OutboundTlsPolicy;
  /** Send in plaintext even when STARTTLS is offered (send connector IgnoreSTARTTLS). */
  ignoreStartTls: boolean;
  /** The next hop belongs to the organization (SmartHostAuthMechanism ExternalAuthoritative): organization headers stay. */
  intraOrganization: boolean;
  cloudServicesMailEnabled: boolean;
}

function fromOutboundConnector(c: OutboundConnector, acceptedDomains: string[]): OutboundRoute {
  const domains = [...(c.RecipientDomains ?? []), ...(c.AllAcceptedDomains ? acceptedDomains : [])];
  return {
    connector: c.Name,
    kind: 'OutboundConnector',
    domains,
    smartHosts: c.UseMXRecord === false || (c.UseMXRecord === undefined && c.SmartHosts?.length) ? (c.SmartHosts ?? []) : [],
    tls: { requirement: c.TlsSettings ?? 'Opportunistic', settingName: 'TlsSettings', tlsDomain: c.TlsDomain },
    ignoreStartTls: false,
    intraOrganization: false,
    cloudServicesMailEnabled: !!c.CloudServicesMailEnabled,
  };
}

function fromSendConnector(c: SendConnector): OutboundRoute {
  const required = c.RequireTLS || !!c.TlsAuthLevel;
  return {
    connector: c.Name,
    kind: 'SendConnector',
    domains: c.AddressSpaces.map(addressSpaceDomain),
    smartHosts: c.DNSRoutingEnabled === false || (c.DNSRoutingEnabled === undefined && c.SmartHosts?.length) ? (c.SmartHosts ?? []) : [],
    tls: {
      // RequireTLS without TlsAuthLevel: encryption without certificate checks [lab]
      requirement: required ? (c.TlsAuthLevel ?? 'EncryptionOnly') : 'Opportunistic',
      settingName: c.TlsAuthLevel ? 'TlsAuthLevel' : 'RequireTLS',
      tlsDomain: c.TlsDomain,
    },
    ignoreStartTls: !!c.IgnoreSTARTTLS && !required,
    intraOrganization: c.SmartHostAuthMechanism === 'ExternalAuthoritative',
    cloudServicesMailEnabled: !!c.CloudServicesMailEnabled,
  };
}

export const DEFAULT_ROUTE: OutboundRoute = {
  connector: 'Default (MX, opportunistic TLS)',
  kind: 'Default',
  domains: ['*'],
  smartHosts: [],
  tls: { requirement: 'Opportunistic', settingName: 'TlsSettings' },
  ignoreStartTls: false,
  intraOrganization: false,
  cloudServicesMailEnabled: false,
};

export function outboundRoutes(node: NodeSpec, acceptedDomains: string[]): OutboundRoute[] {
  const online = (node.outboundConnectors ?? [])
    .filter((c) => c.Enabled !== false && !c.IsTransportRuleScoped)
    .map((c) => fromOutboundConnector(c, acceptedDomains));
  const server = (node.sendConnectors ?? []).filter((c) => c.Enabled !== false).map(fromSendConnector);
  return [...online, ...server];
}

/**
 * The outbound connector a mail flow rule names (RouteMessageOutboundConnector). Such connectors
 * carry IsTransportRuleScoped, so ordinary routing never picks them; the rule may.
 */
export function ruleScopedRoute(node: NodeSpec, connectorName: string, acceptedDomains: string[]): OutboundRoute | undefined {
  const c = (node.outboundConnectors ?? []).find((x) => x.Name === connectorName && x.Enabled !== false);
  return c ? fromOutboundConnector(c, acceptedDomains) : undefined;
}

/** The connector whose most specific domain pattern matches the recipient domain. */
export function selectOutboundRoute(routes: readonly OutboundRoute[], domain: string, preset: RolePreset): OutboundRoute | undefined {
  let best: { route: OutboundRoute; score: number } | undefined;
  for (const route of routes) {
    for (const pattern of route.domains) {
      if (!domainMatches(pattern, domain)) continue;
      const score = domainSpecificity(pattern);
      if (!best || score > best.score) best = { route, score };
    }
  }
  if (best) return best.route;
  return preset.defaultRoute === 'mx' ? DEFAULT_ROUTE : undefined;
}
