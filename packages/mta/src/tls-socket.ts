import type { PeerCertificate, SecureContextOptions, TLSSocket } from 'node:tls';
import type { NodeTls } from '@relaylab/core';

export type TlsVersionOptions = Pick<SecureContextOptions, 'minVersion' | 'maxVersion' | 'ciphers'>;

/**
 * The versions and ciphers a node accepts, as Node's TLS options, for its listener and its client
 * alike. Only what the topology sets: the rest keeps each library's own defaults.
 */
export function tlsVersionOptions(tls: NodeTls | undefined): TlsVersionOptions {
  const options: TlsVersionOptions = {};
  if (tls?.minVersion) options.minVersion = tls.minVersion;
  if (tls?.maxVersion) options.maxVersion = tls.maxVersion;
  if (tls?.ciphers) options.ciphers = tls.ciphers;
  return options;
}

/** The chain exactly as the peer sent it, leaf first, as DER. */
export function peerChain(socket: TLSSocket): Buffer[] {
  const chain: Buffer[] = [];
  let cert = socket.getPeerCertificate(true) as (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined;
  const seen = new Set<string>();
  while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    chain.push(cert.raw);
    cert = cert.issuerCertificate as typeof cert;
  }
  return chain;
}

export function localChain(socket: TLSSocket): Buffer[] {
  const own = socket.getCertificate() as PeerCertificate | null | object;
  return own && 'raw' in own && own.raw ? [own.raw] : [];
}

export interface CipherFacts {
  protocol?: string;
  cipher?: string;
  standardCipher?: string;
  cipherBits?: number;
}

export function cipherFacts(socket: TLSSocket): CipherFacts {
  const c = socket.getCipher() as { name?: string; standardName?: string; version?: string } | undefined;
  const bits = /(\d{3})/.exec(c?.name ?? '')?.[1];
  return {
    protocol: socket.getProtocol() ?? undefined,
    cipher: c?.name,
    standardCipher: c?.standardName,
    cipherBits: bits ? Number(bits) : undefined,
  };
}
