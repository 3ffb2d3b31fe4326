import { generate } from 'selfsigned';
import type { CertificateSpec } from '@relaylab/core';

const DAY = 86_400_000;

export interface KeyAndCert {
  keyPem: string;
  certPem: string;
}

/** Validity windows relative to `now`, so "expired" stays expired and "valid" stays valid. */
export function windowFor(validity: CertificateSpec['validity'], now: Date): { notBefore: Date; notAfter: Date } {
  const t = now.getTime();
  switch (validity ?? 'valid') {
    case 'expired':
      return { notBefore: new Date(t - 400 * DAY), notAfter: new Date(t - 30 * DAY) };
    case 'not-yet-valid':
      return { notBefore: new Date(t + 30 * DAY), notAfter: new Date(t + 400 * DAY) };
    default:
      return { notBefore: new Date(t - DAY), notAfter: new Date(t + 397 * DAY) };
  }
}

/** A self-signed root, or with `issuer` an intermediate CA it signs (valid a little less long than a root). */
export async function generateAuthority(commonName: string, now: Date, issuer?: KeyAndCert): Promise<KeyAndCert> {
  const pems = await generate(
    [
      { name: 'commonName', value: commonName },
      { name: 'organizationName', value: 'relaylab' },
    ],
    {
      keyType: 'ec',
      algorithm: 'sha256',
      notBeforeDate: new Date(now.getTime() - 2 * DAY),
      notAfterDate: new Date(now.getTime() + (issuer ? 5 : 10) * 365 * DAY),
      ca: issuer ? { key: issuer.keyPem, cert: issuer.certPem } : undefined,
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    },
  );
  return { keyPem: pems.private, certPem: pems.cert };
}

/** A leaf usable both as a server certificate and as the client certificate of a sending MTA. */
export async function generateLeaf(spec: CertificateSpec, issuer: KeyAndCert | undefined, now: Date): Promise<KeyAndCert> {
  const { notBefore, notAfter } = windowFor(spec.validity, now);
  const sans = spec.sans?.length ? spec.sans : [spec.subject];
  const pems = await generate([{ name: 'commonName', value: spec.subject }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    ca: issuer ? { key: issuer.keyPem, cert: issuer.certPem } : undefined,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      { name: 'subjectAltName', altNames: sans.map((value) => ({ type: 2 as const, value })) },
    ],
  });
  return { keyPem: pems.private, certPem: pems.cert };
}
