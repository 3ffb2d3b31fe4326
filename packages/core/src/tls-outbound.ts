import { REPLIES } from './codes';
import { identityNames, type CertificateInfo } from './certificate';
import { findMatchingName } from './names';
import type { TlsFacts } from './tls-facts';
import { checkChain, type ChainCheck, type TrustStore } from './trust';
import { accept, defer, type Accepted, type Deferred } from './verdict';

export type TlsRequirement = 'Opportunistic' | 'EncryptionOnly' | 'CertificateValidation' | 'DomainValidation';

export interface OutboundTlsPolicy {
  requirement: TlsRequirement;
  /** `TlsSettings` (Exchange Online) or `TlsAuthLevel`/`RequireTLS` (send connector), for reasons. */
  settingName: string;
  tlsDomain?: string;
}

export interface CertificateVerdict {
  chain?: ChainCheck;
  /** The certificate name that satisfied TlsDomain, when the name was checked and matched. */
  verifiedName?: string;
}

/** Accept: send on this connection. Defer: not this host, not now (or, opportunistically, not over TLS). */
export type OutboundTlsVerdict = CertificateVerdict &
  (Accepted | Deferred) & {
    /** The handshake failed and opportunistic TLS tries the same host again in plaintext. */
    retryPlaintext?: boolean;
  };

export interface OutboundTlsInput {
  policy: OutboundTlsPolicy;
  /** Host name the connection was made to (smart host or MX), for reasons and the TlsDomain fallback. */
  destination: string;
  /**
   * The recipients' domain: a send connector's `DomainValidation` without `TlsDomain` checks the
   * certificate against it (docs/exchange.md, "On-premises send connector (New-SendConnector)").
   */
  recipientDomain?: string;
  facts: TlsFacts;
  trust: TrustStore;
  now: Date;
}

function describeSetting(policy: OutboundTlsPolicy): string {
  if (policy.requirement !== 'Opportunistic') return `${policy.settingName} ${policy.requirement}`;
  return policy.settingName === 'TlsSettings' ? 'TlsSettings $null (opportunistic)' : 'RequireTLS $false (opportunistic)';
}

function namesOf(leaf: CertificateInfo): string {
  const names = identityNames(leaf);
  return names.length ? names.join(', ') : '(no DNS names)';
}

/** The name `DomainValidation` checks, and what it came from, for the reason. */
function expectedName({ policy, destination, recipientDomain }: OutboundTlsInput): { expected: string; source: string } {
  if (policy.tlsDomain) return { expected: policy.tlsDomain, source: 'TlsDomain' };
  if (policy.settingName !== 'TlsSettings' && recipientDomain) return { expected: recipientDomain, source: "the recipient's domain (TlsDomain not set)" };
  // An outbound connector's fallback is undocumented; the host connected to is the nearest name [lab].
  return { expected: destination, source: 'the destination host name (TlsDomain not set)' };
}

/**
 * The sending side's decision after EHLO/STARTTLS, from the certificate actually received
 * (docs/exchange.md, "TLS: what each setting demands and what failure looks like").
 */
export function decideOutboundTls(input: OutboundTlsInput): OutboundTlsVerdict {
  const { policy, destination, facts } = input;
  const setting = describeSetting(policy);
  const chain = facts.peerChain.length ? checkChain(facts.peerChain, input.trust, input.now) : undefined;

  if (!facts.secure) {
    if (facts.handshakeError) {
      if (policy.requirement === 'Opportunistic') {
        return {
          ...defer(REPLIES.cannotConnect, `TLS handshake with ${destination} failed (${facts.handshakeError}); opportunistic TLS retries in plaintext`),
          retryPlaintext: true,
        };
      }
      return defer(REPLIES.cannotConnect, `${setting} requires TLS; the handshake with ${destination} failed: ${facts.handshakeError}`);
    }
    if (policy.requirement === 'Opportunistic' && facts.fallbackFrom) {
      return accept(`retried ${destination} in plaintext after the TLS handshake failed (${facts.fallbackFrom}); opportunistic TLS allows it`);
    }
    if (policy.requirement === 'Opportunistic') {
      return facts.starttlsOffered
        ? accept(`${destination} offered STARTTLS but the connector ignores it (IgnoreSTARTTLS); sent in plaintext`)
        : accept(`${destination} did not offer STARTTLS; opportunistic TLS sends in plaintext`);
    }
    return defer(REPLIES.cannotConnect, `${setting} requires TLS; ${destination} did not offer STARTTLS`);
  }

  const tlsLine = `${facts.protocol ?? 'TLS'} with ${destination}`;
  if (policy.requirement === 'Opportunistic' || policy.requirement === 'EncryptionOnly') {
    const note = chain && !chain.valid ? ` (certificate not checked: ${chain.problems.join('; ')})` : '';
    return { ...accept(`${tlsLine}; ${setting} accepts any certificate${note}`), chain };
  }
  if (!chain) {
    return defer(REPLIES.certificateValidationFailed, `${setting}: ${destination} presented no certificate`);
  }
  if (!chain.valid) {
    return { ...defer(REPLIES.certificateValidationFailed, `${setting}: ${chain.problems.join('; ')}`), chain };
  }
  if (policy.requirement === 'CertificateValidation') {
    return { ...accept(`${tlsLine}; ${setting}: chain to ${chain.path[chain.path.length - 1]} verified`), chain };
  }
  const { expected, source } = expectedName(input);
  const matched = findMatchingName(expected, identityNames(chain.leaf));
  if (!matched) {
    return { ...defer(REPLIES.certificateValidationFailed, `${setting}: certificate names ${namesOf(chain.leaf)} do not match ${source} ${expected}`), chain };
  }
  return { ...accept(`${tlsLine}; ${setting}: certificate name ${matched} matches ${source} ${expected}`), chain, verifiedName: matched };
}
