import { outboundRoutes } from '../connectors';
import { domainMatches, domainOf, normalizeName } from '../names';
import { REFERENCES, type LintFinding } from './finding';
import type { LintCheck, NamedNode, TopologyView } from './view';

/**
 * Routing that cannot work: centralized transport with nowhere on premises to send Internet mail,
 * an accepted domain nothing serves, MX records that lead where the domain is not taken.
 */

/** Some address of the Internet, outside every lab domain, to ask a node's routing about. */
const INTERNET_DOMAIN = 'internet.invalid';

/** The node holds a mailbox (or a proxy or remote-mailbox address) in the domain. */
function hostsAddressIn(node: NamedNode, domain: string): boolean {
  const addresses = [...(node.spec.mailboxes ?? []), ...Object.keys(node.spec.proxyAddresses ?? {}), ...Object.keys(node.spec.remoteMailboxes ?? {})];
  return addresses.some((a) => domainOf(a) === domain);
}

/** The node has a connector that names the domain (not `*`): it relays the domain on purpose. */
function relaysDomain(view: TopologyView, node: NamedNode, domain: string): boolean {
  return outboundRoutes(node.spec, view.acceptedDomains(node.spec.organization)).some((r) =>
    r.domains.some((p) => normalizeName(p) !== '*' && domainMatches(p, domain)),
  );
}

export const centralizedWithoutInternetConnector: LintCheck = (view) => {
  const findings: LintFinding[] = [];
  for (const eop of view.online()) {
    for (const c of eop.spec.outboundConnectors ?? []) {
      if (!c.RouteAllMessagesViaOnPremises || c.Enabled === false) continue;
      const targets = (c.SmartHosts ?? []).flatMap((h) => view.nodesAt(h).slice(0, 1));
      const onPremises = targets.length ? targets : view.onPremises(eop.spec.organization);
      const stuck = onPremises.filter((n) => !view.route(n, INTERNET_DOMAIN));
      if (!stuck.length) continue;
      findings.push({
        check: 'centralized-without-internet-connector',
        severity: 'error',
        node: eop.name,
        connector: c.Name,
        parameter: 'RouteAllMessagesViaOnPremises',
        message: `"${c.Name}" sends all Internet mail through on premises, but ${stuck.map((n) => n.spec.hostname).join(', ')} has no send connector for the Internet (address space *)`,
        why: 'With centralized mail transport every message from a cloud mailbox to the Internet goes to on premises first; on premises needs a send connector whose address space covers * to send it on. Without one the messages are returned as unroutable.',
        reference: REFERENCES.transportRouting,
        fix: `New-SendConnector -Internet -AddressSpaces * on ${stuck[0]!.spec.hostname} (or on the Edge it sends through), or Set-OutboundConnector "${c.Name}" -RouteAllMessagesViaOnPremises $false.`,
      });
    }
  }
  return findings;
};

export const acceptedDomainUnserved: LintCheck = (view) => {
  const findings: LintFinding[] = [];
  for (const [org, spec] of Object.entries(view.topology.organizations ?? {})) {
    for (const raw of spec.domains) {
      const domain = normalizeName(raw);
      if (view.nodes.some((n) => hostsAddressIn(n, domain))) continue;
      if (view.nodes.some((n) => n.spec.organization === org && relaysDomain(view, n, domain))) continue;
      findings.push({
        check: 'accepted-domain-unserved',
        severity: 'error',
        connector: `organization ${org}`,
        parameter: 'AcceptedDomain',
        message: `accepted domain ${domain} of ${org} has no mailbox anywhere and no connector that names it`,
        why: 'An authoritative accepted domain makes Exchange take mail for it and then look for a recipient: with no mailbox and no connector for the domain, every message to it is refused as an unknown recipient (550 5.1.10) or returned as unroutable.',
        reference: REFERENCES.acceptedDomains,
        fix: `Give ${domain} its mailboxes, add a connector that covers it (an OnPremises outbound connector or a send connector whose address space names it), or make it an internal relay domain, or remove the accepted domain.`,
      });
    }
  }
  return findings;
};

export const mxDisagrees: LintCheck = (view) => {
  const findings: LintFinding[] = [];
  for (const [rawDomain] of Object.entries(view.topology.dns?.mx ?? {})) {
    const domain = normalizeName(rawDomain);
    const hosts = view.mxHosts(domain);
    const owner = Object.entries(view.topology.organizations ?? {}).find(([, o]) => o.domains.some((d) => normalizeName(d) === domain))?.[0];
    for (const [i, host] of hosts.entries()) {
      const nodes = view.nodesAt(host);
      const base = { check: 'mx-disagrees', severity: 'error' as const, connector: `MX ${domain}`, parameter: 'MX', reference: REFERENCES.mxRecords };
      if (!nodes.length) {
        findings.push({
          ...base,
          message: `MX of ${domain} names ${host}, which no node and no A record of the topology answers`,
          why: 'Senders resolve the MX host to an address and connect there; a name that resolves nowhere makes every sender queue the mail and return it when it expires.',
          fix: `Point the MX of ${domain} at the host that takes its mail, or add the A record for ${host}.`,
        });
        continue;
      }
      const node = nodes[0]!;
      if (
        hostsAddressIn(node, domain) ||
        relaysDomain(view, node, domain) ||
        (node.spec.organization === owner && !!owner && takesForOrganization(view, node, domain))
      )
        continue;
      findings.push({
        ...base,
        node: node.name,
        message: `MX of ${domain}${i ? ` (preference ${i + 1})` : ''} points at ${host} (${node.name}, ${node.spec.organization ? `organization ${node.spec.organization}` : `role ${node.spec.role}`}), which has no mailbox and no connector for ${domain}`,
        why: `Internet mail for ${domain} goes wherever its MX points. A server that neither hosts the domain nor relays it refuses the mail (550 5.7.54 / 5.4.1 relay denied) or, if it is another organization's, takes it for the wrong tenant.`,
        fix: `Point the MX of ${domain} at the organization's entry point (Exchange Online, on premises, or the filter in front of them), or give ${host} a connector for ${domain}.`,
      });
    }
  }
  return findings;
};

/** An on-premises server of the owning organization routes the domain on to its other side (shared namespace). */
function takesForOrganization(view: TopologyView, node: NamedNode, domain: string): boolean {
  return (
    view.nodes.some((n) => n.spec.organization === node.spec.organization && n.name !== node.name && hostsAddressIn(n, domain)) && !!view.route(node, domain)
  );
}
