import { outboundRoutes } from '../connectors';
import { normalizeName } from '../names';
import { REFERENCES, type LintFinding } from './finding';
import type { LintCheck, NamedNode, TopologyView } from './view';

/**
 * TLS settings that cannot do what they say: a TlsDomain no receiver's certificate carries, a
 * TlsDomain the connector never checks, and TLS required with nothing verified (docs/exchange.md,
 * "TLS: what each setting demands").
 */

interface ConnectorTls {
  node: NamedNode;
  connector: string;
  setting: 'TlsSettings' | 'TlsAuthLevel';
  level: string | null | undefined;
  tlsDomain?: string;
  domains: string[];
  smartHosts: string[];
  cmdlet: string;
}

function connectorsWithTls(view: TopologyView): ConnectorTls[] {
  const out: ConnectorTls[] = [];
  for (const node of view.nodes) {
    const routes = outboundRoutes(node.spec, view.acceptedDomains(node.spec.organization));
    for (const c of node.spec.outboundConnectors ?? []) {
      if (c.Enabled === false) continue;
      const r = routes.find((x) => x.connector === c.Name);
      const domains = r?.domains ?? c.RecipientDomains ?? [];
      const smartHosts = r?.smartHosts ?? (c.UseMXRecord === false ? (c.SmartHosts ?? []) : []);
      out.push({
        node,
        connector: c.Name,
        setting: 'TlsSettings',
        level: c.TlsSettings,
        tlsDomain: c.TlsDomain,
        domains,
        smartHosts,
        cmdlet: 'Set-OutboundConnector',
      });
    }
    for (const c of node.spec.sendConnectors ?? []) {
      if (c.Enabled === false) continue;
      const r = routes.find((x) => x.connector === c.Name);
      out.push({
        node,
        connector: c.Name,
        setting: 'TlsAuthLevel',
        level: c.TlsAuthLevel,
        tlsDomain: c.TlsDomain,
        domains: r?.domains ?? [],
        smartHosts: r?.smartHosts ?? [],
        cmdlet: 'Set-SendConnector',
      });
    }
  }
  return out;
}

/** The receivers a connector reaches: its smart hosts, or the MX hosts of the domains it names exactly. */
function receivers(view: TopologyView, c: ConnectorTls): { host: string; nodes: NamedNode[] }[] {
  const hosts = c.smartHosts.length ? c.smartHosts : c.domains.filter((d) => !d.includes('*')).flatMap((d) => view.mxHosts(d));
  return [...new Set(hosts.map(normalizeName))].map((host) => ({ host, nodes: view.nodesAt(host) }));
}

export const tlsDomainUnmatchable: LintCheck = (view) => {
  const findings: LintFinding[] = [];
  for (const c of connectorsWithTls(view)) {
    if (c.level !== 'DomainValidation' || !c.tlsDomain) continue;
    const misses = receivers(view, c).filter((r) => r.nodes.length > 0 && !r.nodes.some((n) => view.presents(n, c.tlsDomain!, 'server')));
    if (!misses.length) continue;
    const seen = misses.map((m) => {
      const cert = m.nodes[0] && view.certificateOf(m.nodes[0]);
      return `${m.host} presents ${cert ? view.identityNames(cert.facts).join(', ') : 'no certificate'}`;
    });
    findings.push({
      check: 'tls-domain-unmatchable',
      severity: 'error',
      node: c.node.name,
      connector: c.connector,
      parameter: 'TlsDomain',
      message: `"${c.connector}" requires a certificate for ${c.tlsDomain} (DomainValidation), but ${seen.join('; ')}`,
      why: "With DomainValidation the sender checks the receiver's certificate names against TlsDomain after STARTTLS and defers when none matches (Exchange Online: 450 4.7.320 Certificate validation failed). The mail waits in the queue and is returned when it expires.",
      reference: REFERENCES.forcedTlsReport,
      fix: `${c.cmdlet} "${c.connector}" -TlsDomain <a name the receiver's certificate carries>, or have the receiver install a certificate for ${c.tlsDomain}.`,
    });
  }
  return findings;
};

/**
 * Set-SendConnector: with DomainValidation and no TlsDomain "the FQDN on the certificate is
 * compared with the recipient's domain" — which a smart host's or a cloud service's certificate
 * rarely carries.
 */
export const tlsDomainMissing: LintCheck = (view) => {
  const findings: LintFinding[] = [];
  for (const c of connectorsWithTls(view)) {
    if (c.setting !== 'TlsAuthLevel' || c.level !== 'DomainValidation' || c.tlsDomain) continue;
    const domains = c.domains.filter((d) => !d.includes('*'));
    const misses = receivers(view, c).filter((r) => r.nodes.length > 0 && domains.some((d) => !r.nodes.some((n) => view.presents(n, d, 'server'))));
    if (!misses.length) continue;
    const seen = misses.map((m) => {
      const cert = m.nodes[0] && view.certificateOf(m.nodes[0]);
      return `${m.host} presents ${cert ? view.identityNames(cert.facts).join(', ') : 'no certificate'}`;
    });
    findings.push({
      check: 'tls-domain-missing',
      severity: 'error',
      node: c.node.name,
      connector: c.connector,
      parameter: 'TlsDomain',
      message: `"${c.connector}" has TlsAuthLevel DomainValidation and no TlsDomain, so the receiver's certificate must carry the recipient's domain (${domains.join(', ')}); ${seen.join('; ')}`,
      why: "Without TlsDomain, DomainValidation compares the receiver's certificate with the recipient's domain. A smart host or a cloud service presents its own name, not your recipients' domain: every delivery is deferred after STARTTLS and returned when the queue expires.",
      reference: REFERENCES.setSendConnector,
      fix: `Set-SendConnector "${c.connector}" -TlsDomain <the name the receiver's certificate carries> (the Hybrid Configuration Wizard sets mail.protection.outlook.com on its connector).`,
    });
  }
  return findings;
};

export const tlsDomainIgnored: LintCheck = (view) => {
  const findings: LintFinding[] = [];
  for (const c of connectorsWithTls(view)) {
    if (!c.tlsDomain || c.level === 'DomainValidation') continue;
    findings.push({
      check: 'tls-domain-ignored',
      severity: 'warning',
      node: c.node.name,
      connector: c.connector,
      parameter: 'TlsDomain',
      message: `"${c.connector}" names TlsDomain ${c.tlsDomain} but ${c.setting} is ${c.level ?? '$null'}, so the name is never checked`,
      why: "Only DomainValidation compares the receiver's certificate with TlsDomain; with any other level any certificate (or none) is accepted, and the connector gives less protection than it appears to.",
      reference: REFERENCES.forcedTlsReport,
      fix: `${c.cmdlet} "${c.connector}" -${c.setting} DomainValidation, or remove TlsDomain.`,
    });
  }
  return findings;
};

export const requireTlsVerifiesNothing: LintCheck = (view) => {
  const findings: LintFinding[] = [];
  for (const node of view.nodes) {
    for (const c of node.spec.sendConnectors ?? []) {
      if (c.Enabled === false || !c.RequireTLS) continue;
      if (c.IgnoreSTARTTLS) {
        findings.push({
          check: 'require-tls-contradiction',
          severity: 'error',
          node: node.name,
          connector: c.Name,
          parameter: 'IgnoreSTARTTLS',
          message: `send connector "${c.Name}" has RequireTLS $true and IgnoreSTARTTLS $true`,
          why: 'The connector must use TLS and must not start it: every delivery through it is deferred, then returned.',
          reference: REFERENCES.sendConnectors,
          fix: `Set-SendConnector "${c.Name}" -IgnoreSTARTTLS $false (or RequireTLS $false if the next hop cannot do TLS).`,
        });
      }
      if (c.TlsAuthLevel === 'CertificateValidation' || c.TlsAuthLevel === 'DomainValidation') continue;
      findings.push({
        check: 'require-tls-verifies-nothing',
        severity: 'warning',
        node: node.name,
        connector: c.Name,
        parameter: 'TlsAuthLevel',
        message: `send connector "${c.Name}" requires TLS with TlsAuthLevel ${c.TlsAuthLevel ?? '$null'}: it encrypts but checks no certificate`,
        why: "Any certificate is accepted, expired, self-signed or another host's: a device or attacker in the path that answers STARTTLS receives the mail, and the forced TLS gives no assurance of who the receiver is.",
        reference: REFERENCES.forcedTlsReport,
        fix: `Set-SendConnector "${c.Name}" -TlsAuthLevel DomainValidation -TlsDomain <the receiver's certificate name> (or CertificateValidation at least).`,
      });
    }
    for (const c of node.spec.inboundConnectors ?? []) {
      // Pinned by SenderIPAddresses the sender is identified by address; by SenderDomains alone, by a claim anyone can make.
      if (c.Enabled === false || !c.RequireTls || c.TlsSenderCertificateName || c.SenderIPAddresses?.length) continue;
      findings.push({
        check: 'require-tls-verifies-nothing',
        severity: 'warning',
        node: node.name,
        connector: c.Name,
        parameter: 'TlsSenderCertificateName',
        message: `inbound connector "${c.Name}" requires TLS but names no TlsSenderCertificateName and no SenderIPAddresses: any client that speaks TLS with a matching sender domain satisfies it`,
        why: 'RequireTls alone only refuses plaintext. With neither a certificate name nor IP addresses, the connector recognises the partner by the sender domain, which any host can claim: another server that speaks TLS is treated as the partner.',
        reference: REFERENCES.partnerConnectors,
        fix: `Set-InboundConnector "${c.Name}" -TlsSenderCertificateName <the partner's certificate name> (and -RestrictDomainsToCertificate $true for a Partner connector).`,
      });
    }
  }
  return findings;
};
