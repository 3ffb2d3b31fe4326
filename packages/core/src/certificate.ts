import { X509Certificate } from 'node:crypto';

/** What a certificate says about itself, for traces and name checks. */
export interface CertificateInfo {
  subject: string;
  commonName?: string;
  sans: string[];
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  fingerprint256: string;
  selfIssued: boolean;
}

/**
 * Parsing a certificate costs more than the rest of a hop's policy, and every transaction on a
 * pooled connection shows the same few certificates: each DER is parsed once (a bounded cache,
 * oldest out first). A parsed certificate is immutable, so sharing it changes no result.
 */
const PARSED_LIMIT = 256;
const parsed = new Map<string, X509Certificate>();
const described = new WeakMap<X509Certificate, CertificateInfo>();

export function parseCertificate(der: Buffer | X509Certificate): X509Certificate {
  if (der instanceof X509Certificate) return der;
  const key = der.toString('base64');
  let cert = parsed.get(key);
  if (!cert) {
    cert = new X509Certificate(der);
    if (parsed.size >= PARSED_LIMIT) parsed.delete(parsed.keys().next().value!);
    parsed.set(key, cert);
  }
  return cert;
}

function commonNameOf(subject: string): string | undefined {
  const m = /(?:^|\n)CN=([^\n]*)/.exec(subject);
  return m ? m[1] : undefined;
}

function dnsSans(cert: X509Certificate): string[] {
  if (!cert.subjectAltName) return [];
  return cert.subjectAltName
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4));
}

export function describeCertificate(input: Buffer | X509Certificate): CertificateInfo {
  const cert = parseCertificate(input);
  let info = described.get(cert);
  if (!info) described.set(cert, (info = describe(cert)));
  return { ...info, sans: [...info.sans] };
}

function describe(cert: X509Certificate): CertificateInfo {
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    commonName: commonNameOf(cert.subject),
    sans: dnsSans(cert),
    issuer: cert.issuer.replace(/\n/g, ', '),
    serial: normalizeSerial(cert.serialNumber),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    fingerprint256: cert.fingerprint256,
    selfIssued: cert.subject === cert.issuer,
  };
}

/** Serial numbers compare as upper-case hex without leading zeros, whoever printed them. */
export function normalizeSerial(serial: string): string {
  const hex = serial
    .replace(/[^0-9a-fA-F]/g, '')
    .toUpperCase()
    .replace(/^0+/, '');
  return hex === '' ? '0' : hex;
}

/** Names for server identity checks (RFC 6125): DNS SANs, or the CN only when there are none. */
export function identityNames(info: CertificateInfo): string[] {
  if (info.sans.length > 0) return info.sans;
  return info.commonName ? [info.commonName] : [];
}

/** Names TlsSenderCertificateName is compared with: Exchange looks at the subject and the SANs. */
export function subjectOrSanNames(info: CertificateInfo): string[] {
  const names = [...info.sans];
  if (info.commonName && !names.includes(info.commonName)) names.unshift(info.commonName);
  return names;
}
