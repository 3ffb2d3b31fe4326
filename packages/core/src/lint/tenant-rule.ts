import { ipListed, parseIpRange } from '../ip';
import type { TransportRule } from '../model';
import { domainMatches, domainOf } from '../names';
import { REFERENCES, type LintFinding } from './finding';
import type { LintCheck, NamedNode } from './view';

/**
 * The hybrid receive connector trusts any Exchange Online tenant: every tenant connects from the
 * same addresses with the same certificate, so another tenant's outbound connector pointed at
 * this server is taken as internal. The field's mitigation is a mail flow rule on X-OriginatorOrg,
 * which has side effects of its own (docs/exchange.md, "The tenant-connector attack").
 */

const ORIGINATOR = 'x-originatororg';
const deletes = (r: TransportRule) => !!r.DeleteMessage || !!r.RejectMessageReasonText || !!r.RejectMessageEnhancedStatusCode;
const enabled = (r: TransportRule) => r.State !== 'Disabled';
const names = (header: string | undefined) => header?.trim().toLowerCase() === ORIGINATOR;

/** A rule that acts on X-OriginatorOrg: deletes unless it is our tenant, or deletes when it is another. */
const originatorRule = (r: TransportRule) =>
  enabled(r) &&
  deletes(r) &&
  [r.HeaderMatchesMessageHeader, r.HeaderContainsMessageHeader, r.ExceptIfHeaderMatchesMessageHeader, r.ExceptIfHeaderContainsMessageHeader].some(names);

/** The rule spares only messages that carry our X-OriginatorOrg: everything else that reaches it is deleted. */
const deletesAllButOwnTenant = (r: TransportRule) =>
  originatorRule(r) && (names(r.ExceptIfHeaderMatchesMessageHeader) || names(r.ExceptIfHeaderContainsMessageHeader));

/** Receive connectors that grant Exchange Online's certificate the right to send cross-premises mail. */
function hybridReceiveConnectors(node: NamedNode): string[] {
  return (node.spec.receiveConnectors ?? [])
    .filter((c) => c.Enabled !== false && (c.TlsDomainCapabilities ?? []).some((t) => /:\s*AcceptCloudServicesMail/i.test(t)))
    .map((c) => c.Name);
}

/** Whether the rule would reach a message that a client at `ip` (or an unknown Internet address) hands to this node. */
function ruleApplies(r: TransportRule, ip: string | undefined, senderDomains: string[]): boolean {
  if (r.SenderIPRanges?.length && (!ip || !ipListed(ip, r.SenderIPRanges))) return false;
  if (ip && ipListed(ip, r.ExceptIfSenderIPRanges)) return false;
  if (r.ExceptIfSenderDomainIs?.length && senderDomains.length && senderDomains.every((d) => r.ExceptIfSenderDomainIs!.some((p) => domainMatches(p, d))))
    return false;
  return true;
}

export const hybridReceiveAnyTenant: LintCheck = (view) => {
  const findings: LintFinding[] = [];
  for (const node of view.onPremises()) {
    const connectors = hybridReceiveConnectors(node);
    if (!connectors.length || (node.spec.transportRules ?? []).some(originatorRule)) continue;
    findings.push({
      check: 'hybrid-receive-any-tenant',
      severity: 'warning',
      node: node.name,
      connector: connectors.join(', '),
      parameter: 'TlsDomainCapabilities',
      message: `"${connectors.join('", "')}" accepts cross-premises mail from any Exchange Online tenant (AcceptCloudServicesMail), and ${node.name} has no mail flow rule on X-OriginatorOrg`,
      why: 'Every tenant connects from the same Exchange Online addresses with the same certificate. Another tenant can create an outbound connector to this server, and its mail is accepted as internal: no anti-spam filtering, trusted by transport rules. Only X-OriginatorOrg names the sending tenant.',
      reference: REFERENCES.securingHybridReceive,
      fix: `On ${node.spec.hostname}: New-TransportRule -SenderIPRanges <Exchange Online's addresses> -ExceptIfHeaderMatchesMessageHeader X-OriginatorOrg -ExceptIfHeaderMatchesPatterns '^<your tenant's domain>$' -DeleteMessage $true; scoping it to Exchange Online's addresses avoids the side effects lint reports for the unscoped form.`,
    });
  }
  return findings;
};

export const originatorRuleSideEffects: LintCheck = (view) => {
  const findings: LintFinding[] = [];
  for (const node of view.onPremises()) {
    for (const rule of (node.spec.transportRules ?? []).filter(deletesAllButOwnTenant)) {
      const victims: string[] = [];
      // Internet mail that reaches this server without passing Exchange Online carries no X-OriginatorOrg.
      for (const domain of view.acceptedDomains(node.spec.organization)) {
        const mx = view.mxHosts(domain)[0];
        const first = mx ? view.nodesAt(mx)[0] : undefined;
        if (!first || first.spec.role === 'exchange-online') continue;
        const ip = first.name === node.name ? undefined : first.spec.address;
        if (ruleApplies(rule, ip, []))
          victims.push(`Internet mail for ${domain} (MX ${mx}${first.name === node.name ? '' : `, relayed by ${first.spec.hostname}`})`);
      }
      // Devices with a receive connector of their own relay anonymously, with no X-OriginatorOrg either.
      const dedicated = (node.spec.receiveConnectors ?? []).filter(
        (c) => c.Enabled !== false && c.RemoteIPRanges?.length && !c.RemoteIPRanges.some(wholeInternet),
      );
      for (const device of view.nodes.filter((n) => n.spec.role === 'device' && dedicated.some((c) => ipListed(n.spec.address, c.RemoteIPRanges)))) {
        const senderDomains = (device.spec.mailboxes ?? []).map(domainOf);
        if (ruleApplies(rule, device.spec.address, senderDomains)) victims.push(`the device ${device.spec.hostname} (${device.spec.address})`);
      }
      if (!victims.length) continue;
      findings.push({
        check: 'originator-rule-side-effects',
        severity: 'error',
        node: node.name,
        connector: `transport rule ${rule.Name}`,
        parameter: rule.SenderIPRanges?.length ? 'ExceptIfSenderIPRanges' : 'SenderIPRanges',
        message: `rule "${rule.Name}" deletes what lacks your X-OriginatorOrg, and that includes ${victims.join('; ')}`,
        why: 'Exchange Online stamps X-OriginatorOrg; mail that reaches on premises any other way has none. When MX points at on premises or at a filtering service in front of it, legitimate Internet mail is deleted, and so is mail from devices relaying anonymously.',
        reference: REFERENCES.securingHybridReceive,
        fix: `Scope the rule to Exchange Online's addresses (-SenderIPRanges), except the devices (-ExceptIfSenderIPRanges), or route Internet mail through Exchange Online first (MX → Exchange Online) so it carries X-OriginatorOrg.`,
      });
    }
  }
  return findings;
};

/** A range of a /8 or wider is everyone, not a dedicated device connector. */
function wholeInternet(range: string): boolean {
  const r = parseIpRange(range);
  return !r || r.last - r.first >= 0xffffff;
}
