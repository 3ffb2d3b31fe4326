import { describeCertificate } from './certificate';
import type { TlsSummary } from './trace';

/** What one side of a connection saw of TLS, gathered from the socket and nothing else. */
export interface TlsFacts {
  /** The server listed STARTTLS in its EHLO reply (client side), or the client issued it (server side). */
  starttlsOffered: boolean;
  secure: boolean;
  protocol?: string;
  cipher?: string;
  /** The peer's certificate chain as presented on the wire, leaf first, DER. */
  peerChain: Buffer[];
  /** Our own certificate chain as presented, leaf first, DER. */
  localChain: Buffer[];
  handshakeError?: string;
  /** This plaintext connection is the opportunistic retry after a failed handshake. */
  fallbackFrom?: string;
}

export const PLAINTEXT: TlsFacts = Object.freeze({ starttlsOffered: false, secure: false, peerChain: [], localChain: [] }) as TlsFacts;

function short(der: Buffer | undefined): TlsSummary['peerCertificate'] {
  if (!der) return undefined;
  const { subject, sans, issuer, serial, notAfter } = describeCertificate(der);
  return { subject, sans, issuer, serial, notAfter };
}

export function summarizeTls(facts: TlsFacts): TlsSummary {
  return {
    starttlsOffered: facts.starttlsOffered,
    secure: facts.secure,
    protocol: facts.protocol,
    cipher: facts.cipher,
    handshakeError: facts.handshakeError,
    peerCertificate: short(facts.peerChain[0]),
    localCertificate: short(facts.localChain[0]),
  };
}
