import { X509Certificate } from 'node:crypto';

export function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

export function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

export function derChain(pem: string): Buffer[] {
  return pemBlocks(pem).map(pemToDer);
}

export function certificateOf(pem: string): X509Certificate {
  return new X509Certificate(pem);
}
