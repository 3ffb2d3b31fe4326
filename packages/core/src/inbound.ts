import { REPLIES } from './codes';
import { subjectOrSanNames } from './certificate';
import { ipListed, narrowestMatch, normalizeIp } from './ip';
import type { InboundConnector, ReceiveConnector } from './model';
import { domainMatches, findMatchingName } from './names';
import { commonName, parseCertificateName } from './powershell-values';
import type { ChainCheck } from './trust';
import { accept, refuse, type Accepted, type Refused } from './verdict';

/** What the receiving node knows when MAIL FROM arrives, all of it seen on the wire. */
export interface SessionFacts {
  clientIp: string;
  localIp: string;
  localPort: number;
  ehlo: string;
  secure: boolean;
  /** The client's certificate chain checked against this node's trust store, if one was presented. */
  clientCertificate?: ChainCheck;
}

export interface InboundDecision {
  connector?: string;
  connectorType?: 'OnPremises' | 'Partner' | 'Receive';
  /** How the connector was matched: `certificate mail.contoso.example`, `IP 127.0.0.10`, `sender domain`. */
  matchedBy?: string;
  verdict: Accepted | Refused;
}

/** Names of a client certificate that may identify the sender: only from a chain we trust. */
function trustedClientNames(facts: SessionFacts): string[] {
  const cert = facts.clientCertificate;
  return cert && cert.valid ? subjectOrSanNames(cert.leaf) : [];
}

function presentedName(facts: SessionFacts): string {
  const cert = facts.clientCertificate;
  if (!cert) return facts.secure ? 'no client certificate' : 'no TLS';
  const names = subjectOrSanNames(cert.leaf).join(', ') || cert.leaf.subject;
  return cert.valid ? names : `${names} (not trusted: ${cert.problems.join('; ')})`;
}

function identify(c: InboundConnector, facts: SessionFacts): string | undefined {
  // Written as a name or as Exchange prints a certificate, <I>issuer<S>subject: then the issuer
  // must match too, compared by its CN because exports format the rest of a DN differently.
  const wanted = c.TlsSenderCertificateName ? parseCertificateName(c.TlsSenderCertificateName) : undefined;
  if (wanted) {
    const issuer = facts.clientCertificate?.leaf.issuer;
    const issuerMatches = !wanted.issuer || (issuer !== undefined && commonName(issuer)?.toLowerCase() === commonName(wanted.issuer)?.toLowerCase());
    const name = issuerMatches ? findMatchingName(wanted.hostName, trustedClientNames(facts)) : undefined;
    if (name) return `certificate ${name}`;
  }
  if (ipListed(normalizeIp(facts.clientIp), c.SenderIPAddresses)) return `IP ${normalizeIp(facts.clientIp)}`;
  return undefined;
}

/**
 * Exchange Online: which inbound connector this connection belongs to. OnPremises connectors
 * identify the sender by certificate or IP; Partner connectors by sender domain, optionally
 * restricted to a certificate or IP. A connector that does not match leaves the message anonymous.
 */
export function matchInboundConnector(connectors: readonly InboundConnector[], facts: SessionFacts, senderDomain: string): InboundDecision {
  const enabled = connectors.filter((c) => c.Enabled !== false);
  for (const c of enabled.filter((x) => x.ConnectorType === 'OnPremises')) {
    const how = identify(c, facts);
    if (!how) continue;
    if (c.RequireTls && !facts.secure) {
      return {
        connector: c.Name,
        connectorType: 'OnPremises',
        matchedBy: how,
        verdict: refuse(REPLIES.startTlsRequired, `inbound connector ${c.Name} has RequireTls; the session is not encrypted`),
      };
    }
    return { connector: c.Name, connectorType: 'OnPremises', matchedBy: how, verdict: accept(`OnPremises connector ${c.Name} matched by ${how}`) };
  }
  for (const c of enabled.filter((x) => x.ConnectorType === 'Partner')) {
    if (!(c.SenderDomains ?? ['*']).some((p) => domainMatches(p, senderDomain))) continue;
    if (c.RequireTls && !facts.secure) {
      return {
        connector: c.Name,
        connectorType: 'Partner',
        matchedBy: `sender domain ${senderDomain}`,
        verdict: refuse(REPLIES.startTlsRequired, `Partner connector ${c.Name} has RequireTls for ${senderDomain}; the session is not encrypted`),
      };
    }
    const hasIdentity = !!c.TlsSenderCertificateName || !!c.SenderIPAddresses?.length;
    const how = hasIdentity ? identify(c, facts) : `sender domain ${senderDomain}`;
    if (how) {
      return { connector: c.Name, connectorType: 'Partner', matchedBy: how, verdict: accept(`Partner connector ${c.Name} matched by ${how}`) };
    }
    if (c.RestrictDomainsToCertificate && c.TlsSenderCertificateName) {
      return {
        connector: c.Name,
        connectorType: 'Partner',
        verdict: refuse(
          REPLIES.tenantInboundAttribution,
          `Partner connector ${c.Name} has RestrictDomainsToCertificate for ${senderDomain}; certificate presented: ${presentedName(facts)}; TlsSenderCertificateName: ${c.TlsSenderCertificateName}`,
        ),
      };
    }
    if (c.RestrictDomainsToIPAddresses && c.SenderIPAddresses?.length) {
      return {
        connector: c.Name,
        connectorType: 'Partner',
        verdict: refuse(
          REPLIES.tenantInboundAttribution,
          `Partner connector ${c.Name} has RestrictDomainsToIPAddresses for ${senderDomain}; connecting IP ${normalizeIp(facts.clientIp)} is not in SenderIPAddresses ${c.SenderIPAddresses.join(', ')}`,
        ),
      };
    }
  }
  return {
    verdict: accept(
      `no inbound connector matched (certificate: ${presentedName(facts)}, IP ${normalizeIp(facts.clientIp)}); treated as anonymous Internet mail`,
    ),
  };
}

function bindingMatches(binding: string, localIp: string, localPort: number, listenPort: number): boolean {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(binding.trim());
  if (!m) return false;
  const [, ip, port] = m;
  // Topologies say :25; in the lab a node may listen elsewhere, so port 25 means "the node's port".
  const portOk = Number(port) === localPort || (Number(port) === 25 && localPort === listenPort);
  return portOk && (ip === '0.0.0.0' || ip === '::' || ip === normalizeIp(localIp));
}

/**
 * On-premises: the receive connector whose binding matches and whose RemoteIPRanges entry is the
 * most specific match for the client's address [doc].
 */
export function selectReceiveConnector(
  connectors: readonly ReceiveConnector[],
  facts: Pick<SessionFacts, 'clientIp' | 'localIp' | 'localPort'>,
  listenPort: number,
): ReceiveConnector | undefined {
  let best: { c: ReceiveConnector; size: number } | undefined;
  for (const c of connectors) {
    if (c.Enabled === false) continue;
    if (!(c.Bindings ?? ['0.0.0.0:25']).some((b) => bindingMatches(b, facts.localIp, facts.localPort, listenPort))) continue;
    const r = narrowestMatch(normalizeIp(facts.clientIp), c.RemoteIPRanges ?? ['0.0.0.0-255.255.255.255']);
    if (!r) continue;
    const size = r.last - r.first;
    if (!best || size < best.size) best = { c, size };
  }
  return best?.c;
}

export function decideReceiveConnector(connector: ReceiveConnector | undefined, facts: SessionFacts): InboundDecision {
  if (!connector) {
    return {
      verdict: refuse(
        REPLIES.noReceiveConnector,
        `no receive connector binds ${facts.localIp}:${facts.localPort} for remote IP ${normalizeIp(facts.clientIp)}`,
      ),
    };
  }
  const base = { connector: connector.Name, connectorType: 'Receive' as const, matchedBy: `remote IP ${normalizeIp(facts.clientIp)}` };
  if (connector.RequireTLS && !facts.secure) {
    return { ...base, verdict: refuse(REPLIES.startTlsRequired, `receive connector ${connector.Name} has RequireTLS; the session is not encrypted`) };
  }
  return { ...base, verdict: accept(`receive connector ${connector.Name} (RemoteIPRanges ${(connector.RemoteIPRanges ?? ['any']).join(', ')})`) };
}
