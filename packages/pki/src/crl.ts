import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { RevocationList } from '@relaylab/core';
import { certificateOf, pemToDer } from './pem';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

/** A CRL signed by the authority's key, listing the given serials (hex). */
export async function createCrl(ca: { certPem: string; keyPem: string }, serials: string[], now: Date): Promise<string> {
  const signingKey = await webcrypto.subtle.importKey('pkcs8', pemToDer(ca.keyPem), ECDSA, false, ['sign']);
  const issuer = new x509.X509Certificate(ca.certPem);
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuer.subjectName,
    thisUpdate: new Date(now.getTime() - DAY),
    nextUpdate: new Date(now.getTime() + 30 * DAY),
    entries: serials.map((serialNumber) => ({ serialNumber, revocationDate: new Date(now.getTime() - DAY), reason: x509.X509CrlReason.keyCompromise })),
    signingAlgorithm: ECDSA,
    signingKey: signingKey as unknown as x509.X509CrlCreateParams['signingKey'],
  });
  return crl.toString('pem');
}

/** Load a CRL the way a verifying MTA would: refuse it unless the CA's signature checks out. */
export async function loadCrl(crlPem: string, caCertPem: string): Promise<RevocationList> {
  const crl = new x509.X509Crl(crlPem);
  const ca = new x509.X509Certificate(caCertPem);
  const ok = await crl.verify({ publicKey: ca.publicKey });
  if (!ok) throw new Error(`CRL for ${ca.subject} does not carry the CA's signature`);
  return {
    issuerFingerprint256: certificateOf(caCertPem).fingerprint256,
    revokedSerials: crl.entries.map((e) => e.serialNumber),
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
  };
}
