import { X509Certificate } from 'node:crypto';
import { describeCertificate, normalizeSerial, parseCertificate, type CertificateInfo } from './certificate';

/** A CRL already checked against its issuer's signature by whoever loaded it. */
export interface RevocationList {
  /** fingerprint256 of the issuing CA certificate. */
  issuerFingerprint256: string;
  revokedSerials: string[];
  thisUpdate: Date;
  nextUpdate?: Date;
}

export interface TrustStore {
  anchors: X509Certificate[];
  crls: RevocationList[];
}

export interface ChainCheck {
  /** The whole chain built to a trust anchor, every certificate in its validity window, none revoked. */
  valid: boolean;
  /** The chain reached a trust anchor (signatures checked), whatever the dates say. */
  chainsToTrustedRoot: boolean;
  leaf: CertificateInfo;
  /** Subjects from the leaf to the anchor, as built. */
  path: string[];
  problems: string[];
}

const MAX_DEPTH = 6;

/** Signature checks between the same two (cached, immutable) certificates give the same answer: made once. */
const issuedChecks = new WeakMap<X509Certificate, WeakMap<X509Certificate, boolean>>();

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  let byIssuer = issuedChecks.get(cert);
  if (!byIssuer) issuedChecks.set(cert, (byIssuer = new WeakMap()));
  let issued = byIssuer.get(issuer);
  if (issued === undefined) byIssuer.set(issuer, (issued = cert.checkIssued(issuer) && cert.verify(issuer.publicKey)));
  return issued;
}

function windowProblem(cert: X509Certificate, now: Date): string | undefined {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  const name = describeCertificate(cert).commonName ?? cert.subject;
  if (now < from) return `certificate ${name} is not valid before ${from.toISOString()} (lab time ${now.toISOString()})`;
  if (now > to) return `certificate ${name} expired ${to.toISOString()} (lab time ${now.toISOString()})`;
  return undefined;
}

function revocationProblem(cert: X509Certificate, issuer: X509Certificate, store: TrustStore): string | undefined {
  const crl = store.crls.find((c) => c.issuerFingerprint256 === issuer.fingerprint256);
  if (!crl) return undefined;
  const serial = normalizeSerial(cert.serialNumber);
  if (crl.revokedSerials.some((s) => normalizeSerial(s) === serial)) {
    const name = describeCertificate(cert).commonName ?? cert.subject;
    return `certificate ${name} (serial ${serial}) is revoked by the CRL of ${describeCertificate(issuer).commonName ?? issuer.subject}`;
  }
  return undefined;
}

/**
 * Verify the chain a peer presented (leaf first, as DER) against a trust store at the lab's time.
 * Node's own verification cannot serve: it uses the real time and knows nothing of our CRLs.
 * Intermediates come only from `presented`; the store holds roots, as a real MTA's does.
 */
export function checkChain(presented: readonly Buffer[], store: TrustStore, now: Date): ChainCheck {
  const certs = presented.map((der) => parseCertificate(der));
  const leaf = certs[0];
  if (!leaf) throw new Error('checkChain needs at least the leaf certificate');
  const problems: string[] = [];
  const path = [leaf.subject.replace(/\n/g, ', ')];
  let current = leaf;
  let anchored = false;

  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const window = windowProblem(current, now);
    if (window) problems.push(window);
    const anchor = store.anchors.find((a) => a.fingerprint256 === current.fingerprint256 || issuedBy(current, a));
    if (anchor) {
      if (anchor.fingerprint256 !== current.fingerprint256) {
        const revoked = revocationProblem(current, anchor, store);
        if (revoked) problems.push(revoked);
        const anchorWindow = windowProblem(anchor, now);
        if (anchorWindow) problems.push(anchorWindow);
        path.push(anchor.subject.replace(/\n/g, ', '));
      }
      anchored = true;
      break;
    }
    const next = certs.find((c) => c !== current && c.fingerprint256 !== current.fingerprint256 && issuedBy(current, c));
    if (!next) {
      problems.push(
        current.subject === current.issuer && current.verify(current.publicKey)
          ? `certificate ${describeCertificate(current).commonName ?? current.subject} is self-signed and not trusted`
          : // A server that leaves out its intermediate lands here: only what it sent and the roots count.
            `no trusted issuer found for ${current.issuer.replace(/\n/g, ', ')}: the peer did not present it and it is not a trust anchor`,
      );
      break;
    }
    const revoked = revocationProblem(current, next, store);
    if (revoked) problems.push(revoked);
    path.push(next.subject.replace(/\n/g, ', '));
    current = next;
  }
  if (!anchored && problems.length === 0) problems.push('chain longer than the lab allows');
  return { valid: anchored && problems.length === 0, chainsToTrustedRoot: anchored, leaf: describeCertificate(leaf), path, problems };
}
