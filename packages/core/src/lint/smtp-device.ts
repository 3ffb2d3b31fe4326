import { addressSpaceDomain } from '../powershell-values';
import { REFERENCES, type LintFinding } from './finding';
import type { LintCheck, NamedNode } from './view';

/**
 * A server, service or device that processes SMTP between on premises and Exchange Online
 * (docs/exchange.md, "Header firewall and cross-premises headers"): it re-originates the message, the
 * cross-premises headers do not survive it, and hybrid mail arrives as external.
 */

const isExchange = (n: NamedNode, organization: string | undefined) =>
  n.spec.role === 'exchange-online' || ((n.spec.role === 'exchange-server' || n.spec.role === 'edge') && n.spec.organization === organization);

function describe(n: NamedNode): string {
  const strips = n.spec.stripHeaders?.length ? `, removes ${n.spec.stripHeaders.join(', ')}` : '';
  return `${n.spec.hostname} (${n.name}, role ${n.spec.role}${strips})`;
}

function finding(from: NamedNode, connector: string, parameter: string, via: string, direction: string, cmdlet: string): LintFinding {
  return {
    check: 'device-between-onprem-and-eop',
    severity: 'error',
    node: from.name,
    connector,
    parameter,
    message: `${direction} mail leaves "${connector}" for ${via}, which is not Exchange`,
    why: "Exchange Online and on premises recognise each other's mail by the certificate on a direct TLS connection and carry its classification in X-MS-Exchange-CrossPremises-* headers. A device that terminates SMTP and sends the message on presents its own certificate (or none) and may drop those headers: the message arrives as anonymous Internet mail, is filtered as spam and is no longer internal to transport and journal rules.",
    reference: REFERENCES.transportOptions,
    fix: `${cmdlet} "${connector}" so that it delivers straight to the other side (a firewall that passes port 25 unchanged is fine), or move the device out of the hybrid path.`,
  };
}

export const deviceInHybridPath: LintCheck = (view) => {
  const findings: LintFinding[] = [];
  const organizations = new Set(view.online().map((n) => n.spec.organization));
  for (const org of organizations) {
    const onPremises = view.onPremises(org);
    // The tenant's routing domain(s): what the hybrid send connectors carry to Exchange Online.
    const cloudDomains = new Set(
      onPremises.flatMap((n) =>
        (n.spec.sendConnectors ?? []).filter((c) => c.CloudServicesMailEnabled && c.Enabled !== false).flatMap((c) => c.AddressSpaces.map(addressSpaceDomain)),
      ),
    );
    cloudDomains.delete('*');
    for (const node of onPremises) {
      for (const domain of cloudDomains) {
        const route = view.route(node, domain);
        if (!route) continue;
        for (const hop of view.nextHops(route, domain)) {
          const first = hop.nodes[0];
          if (!first || isExchange(first, org)) continue;
          const parameter = route.smartHosts.length ? 'SmartHosts' : `MX of ${domain}`;
          findings.push(finding(node, route.connector, parameter, describe(first), `On-premises → Exchange Online (${domain})`, 'Set-SendConnector'));
        }
      }
    }
    for (const eop of view.online(org)) {
      for (const c of eop.spec.outboundConnectors ?? []) {
        if (c.ConnectorType !== 'OnPremises' || c.Enabled === false || c.IsTransportRuleScoped) continue;
        const domains = (c.RecipientDomains ?? []).filter((d) => !d.includes('*'));
        const route = domains[0] ? view.route(eop, domains[0]) : undefined;
        const hosts =
          route?.connector === c.Name && route.smartHosts.length
            ? route.smartHosts
            : c.UseMXRecord === false
              ? (c.SmartHosts ?? [])
              : domains.flatMap((d) => view.mxHosts(d));
        for (const host of hosts) {
          const first = view.nodesAt(host)[0];
          if (!first || isExchange(first, org)) continue;
          findings.push(
            finding(
              eop,
              c.Name,
              c.UseMXRecord === false ? 'SmartHosts' : 'UseMXRecord',
              describe(first),
              'Exchange Online → on-premises',
              'Set-OutboundConnector',
            ),
          );
        }
      }
    }
  }
  return findings;
};
