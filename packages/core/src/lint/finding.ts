import type { Topology } from '../model';

/**
 * What `relaylab lint` reports: one known hybrid pitfall found in a topology, told the way an
 * Exchange engineer fixes it — the setting at fault, why mail flow breaks, where that is written
 * down, and what to change.
 */

export type LintSeverity = 'error' | 'warning';

export interface LintReference {
  title: string;
  url?: string;
}

export interface LintFinding {
  /** Stable id of the check, for `--format json`, CI filters and `lint.accept` in a topology. */
  check: string;
  severity: LintSeverity;
  /** The topology node whose setting is at fault. */
  node?: string;
  /** The connector (or certificate, DNS record, rule) at fault, by its name. */
  connector?: string;
  /** Exchange's parameter name, e.g. `TlsSenderCertificateName`. */
  parameter?: string;
  /** What is wrong, with the values seen. */
  message: string;
  /** How it breaks mail flow. */
  why: string;
  reference: LintReference;
  fix: string;
}

/** What a certificate says about itself, as the PKI read it (names and validity, no key). */
export interface CertificateFacts {
  commonName?: string;
  sans: string[];
  notBefore: string;
  notAfter: string;
}

export interface LintInput {
  topology: Topology;
  /** By certificate name in `topology.certificates`; when one is missing its spec stands in (names only). */
  certificates?: Record<string, CertificateFacts>;
  now: Date;
  /** A certificate that expires within this many days is reported (default 30). */
  expiryWarningDays?: number;
}

/** Where each pitfall is written down: Microsoft's pages, or the field reports docs/exchange.md lists under "Sources". */
export const REFERENCES = {
  hybridCertificate: {
    title: 'Certificate requirements for hybrid deployments',
    url: 'https://learn.microsoft.com/en-us/exchange/certificate-requirements',
  },
  transportOptions: {
    title: 'Transport options in Exchange hybrid deployments',
    url: 'https://learn.microsoft.com/en-us/exchange/transport-options',
  },
  hybridTlsReport: { title: 'field report "Secure Office 365 hybrid mail flow TLS": the certificate checklist (docs/exchange.md, "Sources")' },
  forcedTlsReport: { title: 'field report "Forced TLS connectors": the four outbound TLS options, partner certificate names (docs/exchange.md, "Sources")' },
  partnerConnectors: {
    title: 'Set up connectors for secure mail flow with a partner organization',
    url: 'https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/use-connectors-to-configure-mail-flow/set-up-connectors-for-secure-mail-flow-with-a-partner',
  },
  setSendConnector: {
    title: 'Set-SendConnector, -TlsAuthLevel and -TlsDomain',
    url: 'https://learn.microsoft.com/en-us/powershell/module/exchange/set-sendconnector',
  },
  sendConnectors: {
    title: 'Send connectors in Exchange Server',
    url: 'https://learn.microsoft.com/en-us/exchange/mail-flow/connectors/send-connectors',
  },
  securingHybridReceive: {
    title:
      'field report "Securing the Hybrid receive connector further": another tenant\'s connector, the X-OriginatorOrg rule and its side effects (docs/exchange.md, "Sources")',
  },
  transportRouting: {
    title: 'Transport routing in Exchange hybrid deployments',
    url: 'https://learn.microsoft.com/en-us/exchange/transport-routing',
  },
  acceptedDomains: {
    title: 'Accepted domains in Exchange Server',
    url: 'https://learn.microsoft.com/en-us/exchange/mail-flow/accepted-domains/accepted-domains',
  },
  mxRecords: {
    title: 'Mail flow best practices for Exchange Online, Microsoft 365, and Office 365',
    url: 'https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/mail-flow-best-practices',
  },
} as const satisfies Record<string, LintReference>;
