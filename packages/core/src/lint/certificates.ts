import { parseCertificateName } from '../powershell-values';
import { namesMatch } from '../names';
import { REFERENCES, type LintFinding } from './finding';
import type { LintCheck, NamedNode, TopologyView } from './view';

/**
 * The on-premises certificate against what Exchange Online expects of it: the name the
 * OnPremises inbound connector looks for, the name the hybrid send connector says it presents,
 * and its expiry (docs/exchange.md, "Certificate checklist").
 */

/** On-premises nodes of an organization that send to Exchange Online over the hybrid send connector. */
function hybridSenders(view: TopologyView, organization: string | undefined): NamedNode[] {
  return view.onPremises(organization).filter((n) => (n.spec.sendConnectors ?? []).some((c) => c.CloudServicesMailEnabled && c.Enabled !== false));
}

const shown = (view: TopologyView, node: NamedNode) => {
  const cert = view.certificateOf(node);
  return cert ? `certificate "${cert.name}" (${view.subjectOrSans(cert.facts).join(', ')})` : 'no certificate';
};

export const inboundCertificateName: LintCheck = (view) => {
  const findings: LintFinding[] = [];
  for (const eop of view.online()) {
    for (const c of eop.spec.inboundConnectors ?? []) {
      if (c.ConnectorType !== 'OnPremises' || c.Enabled === false || !c.TlsSenderCertificateName) continue;
      // Pasted as Exchange prints it, `<I>issuer<S>CN=name` stands for the host name in its subject.
      const expected = parseCertificateName(c.TlsSenderCertificateName)?.hostName ?? c.TlsSenderCertificateName;
      const senders = hybridSenders(view, eop.spec.organization);
      if (!senders.length || senders.some((s) => view.presents(s, expected, 'client'))) continue;
      findings.push({
        check: 'hybrid-certificate-name',
        severity: 'error',
        node: eop.name,
        connector: c.Name,
        parameter: 'TlsSenderCertificateName',
        message: `inbound connector "${c.Name}" expects ${expected}, but ${senders.map((s) => `${s.name} presents ${shown(view, s)}`).join('; ')}`,
        why: "Exchange Online matches the OnPremises connector by the name in the sending server's certificate. Without a match, on-premises mail arrives as anonymous Internet mail: not internal, filtered as spam, and relaying to the Internet through Exchange Online is refused (550 5.7.64 TenantAttribution).",
        reference: REFERENCES.hybridCertificate,
        fix: `Give the on-premises certificate ${expected} in its subject or SAN (and assign it to the send connector), or run Set-InboundConnector "${c.Name}" -TlsSenderCertificateName <a name the certificate carries>; rerunning the Hybrid Configuration Wizard sets both sides.`,
      });
    }
  }
  return findings;
};

export const sendConnectorCertificateName: LintCheck = (view) => {
  const findings: LintFinding[] = [];
  for (const node of view.onPremises()) {
    for (const c of node.spec.sendConnectors ?? []) {
      if (!c.TlsCertificateName || c.Enabled === false) continue;
      const wanted = parseCertificateName(c.TlsCertificateName)?.hostName ?? c.TlsCertificateName;
      const cert = view.certificateOf(node);
      if (cert && view.subjectOrSans(cert.facts).some((n) => namesMatch(wanted, n))) continue;
      findings.push({
        check: 'send-connector-certificate-name',
        severity: 'error',
        node: node.name,
        connector: c.Name,
        parameter: 'TlsCertificateName',
        message: `send connector "${c.Name}" presents the certificate named ${wanted}, but ${node.name} has ${shown(view, node)}`,
        why: 'The send connector offers the certificate TlsCertificateName names as its client certificate. When the server has no such certificate, Exchange Online sees no certificate it can match to the OnPremises inbound connector, and hybrid mail loses its internal status.',
        reference: REFERENCES.hybridCertificate,
        fix: `Set-SendConnector "${c.Name}" -TlsCertificateName "<I>issuer<S>subject" of the certificate installed on ${node.spec.hostname} (Get-ExchangeCertificate shows both), or install a certificate for ${wanted}.`,
      });
    }
  }
  return findings;
};

export const certificateExpiry: LintCheck = (view) => {
  const findings: LintFinding[] = [];
  const seen = new Set<string>();
  for (const node of view.onPremises()) {
    const cert = view.certificateOf(node);
    if (!cert || seen.has(cert.name)) continue;
    seen.add(cert.name);
    const spec = view.topology.certificates?.[cert.name];
    const days = view.daysLeft(cert.facts);
    const expired = days !== undefined ? days < 0 : spec?.validity === 'expired';
    const notYet = cert.facts.notBefore ? Date.parse(cert.facts.notBefore) > view.now.getTime() : spec?.validity === 'not-yet-valid';
    const soon = !expired && days !== undefined && days <= view.expiryWarningDays;
    if (!expired && !notYet && !soon) continue;
    const when = expired
      ? `expired${cert.facts.notAfter ? ` on ${cert.facts.notAfter.slice(0, 10)}` : ''}`
      : notYet
        ? `is not valid before ${cert.facts.notBefore ? cert.facts.notBefore.slice(0, 10) : 'a later date'}`
        : `expires in ${days} day(s), on ${cert.facts.notAfter.slice(0, 10)}`;
    findings.push({
      check: 'certificate-expiry',
      severity: soon ? 'warning' : 'error',
      node: node.name,
      connector: `certificate ${cert.name}`,
      parameter: 'NotAfter',
      message: `certificate "${cert.name}", which ${node.name} (${node.spec.hostname}) presents, ${when}`,
      why: 'Hybrid mail between on premises and Exchange Online uses forced TLS with certificate validation in both directions: an expired certificate stops it. Exchange Online defers with 450 4.7.320 and returns the message after 24 hours; on-premises mail reaches the cloud as anonymous.',
      reference: REFERENCES.hybridTlsReport,
      fix: `Renew the certificate with the same names (${view.subjectOrSans(cert.facts).join(', ')}), enable it for SMTP (Enable-ExchangeCertificate -Services SMTP), update TlsCertificateName on the hybrid connectors, and monitor its expiry.`,
    });
  }
  return findings;
};

/** The root an authority chains up to (an intermediate names its issuer). */
function rootAuthority(view: TopologyView, name: string): string {
  const seen = new Set<string>();
  let current = name;
  while (!seen.has(current)) {
    seen.add(current);
    const issuer = view.topology.authorities?.[current]?.issuer;
    if (!issuer) return current;
    current = issuer;
  }
  return current;
}

export const certificateUntrusted: LintCheck = (view) => {
  const findings: LintFinding[] = [];
  for (const node of view.onPremises()) {
    const cert = view.certificateOf(node);
    const spec = cert && view.topology.certificates?.[cert.name];
    if (!cert || !spec) continue;
    // Exchange Online validates with its own trust store: what its nodes trust, or every public (trusted) authority.
    const eops = view.online(node.spec.organization);
    if (!eops.length) continue;
    const root = spec.issuer === 'self' ? undefined : rootAuthority(view, spec.issuer);
    const trustedBy = (trust: string[] | undefined) => !!root && (trust ? trust.includes(root) : view.topology.authorities?.[root]?.trusted !== false);
    const problem =
      spec.issuer === 'self'
        ? 'is self-signed'
        : !eops.every((e) => trustedBy(e.spec.trust))
          ? `is issued under ${root}, an authority Exchange Online does not trust`
          : spec.revoked
            ? 'is revoked (its issuer lists it on its CRL)'
            : undefined;
    if (!problem) continue;
    findings.push({
      check: 'hybrid-certificate-untrusted',
      severity: 'error',
      node: node.name,
      connector: `certificate ${cert.name}`,
      parameter: 'Issuer',
      message: `certificate "${cert.name}", which ${node.name} (${node.spec.hostname}) presents, ${problem}`,
      why: 'Hybrid transport needs a certificate from a trusted public CA with a reachable CRL: Exchange Online validates the chain when it delivers to on premises (DomainValidation: 450 4.7.320, retried, then returned) and before it matches on-premises mail to the OnPremises connector (otherwise the mail arrives anonymous).',
      reference: REFERENCES.hybridCertificate,
      fix: `Install a certificate for ${view.subjectOrSans(cert.facts).join(', ')} from a public CA, enable it for SMTP and rerun the Hybrid Configuration Wizard (it sets TlsCertificateName on the hybrid connectors).`,
    });
  }
  return findings;
};
