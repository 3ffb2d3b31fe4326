import type { TLSSocket } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { TlsFacts } from '@relaylab/core';
import { cipherFacts, localChain, peerChain, type TlsVersionOptions } from './tls-socket';

/**
 * The one place that knows nodemailer's internals: the TLS socket lives in the private
 * `_socket`. A test (client-adapter.test.ts) breaks if a nodemailer release moves it.
 */
export function socketOf(connection: SMTPConnection): TLSSocket | undefined {
  const socket = (connection as unknown as { _socket?: TLSSocket })._socket;
  return socket && typeof socket.getPeerCertificate === 'function' ? socket : undefined;
}

/** Whether the plaintext EHLO reply listed STARTTLS (only asked when we chose not to use it). */
function ehloOffersStartTls(connection: SMTPConnection): boolean {
  const lines = (connection as unknown as { _ehloLines?: string[] })._ehloLines ?? [];
  return lines.some((l) => /^STARTTLS\b/i.test(l));
}

/**
 * nodemailer reports a handshake that broke after STARTTLS as ETLS, or as a socket error carrying
 * OpenSSL's words (a peer that answers the ClientHello with garbage): both are TLS failures, which
 * the connector's TLS policy decides on, not a dead host.
 */
function isTlsFailure(err: Error & { code?: string }): boolean {
  return err.code === 'ETLS' || (err.code === 'ESOCKET' && /SSL routines|ssl3_|wrong version number|TLS|handshake/i.test(err.message));
}

/**
 * OpenSSL's error line (`80ACE4:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol
 * version:../ssl/record/rec_layer_s3.c:1601:SSL alert number 70`) as a trace reads it: the reason
 * and the alert, without the address and source file.
 */
export function describeTlsFailure(message: string): string {
  const m = /SSL routines:[^:]*:([^:]+):[^\n]*?(SSL alert number \d+)?\s*$/.exec(message.trim());
  if (!m) return message.trim();
  return m[2] ? `${m[1]} (${m[2]})` : m[1]!;
}

export interface OpenOptions {
  host: string;
  port: number;
  servername: string;
  localAddress: string;
  ehloName: string;
  key?: string;
  cert?: string;
  /** Do not attempt STARTTLS (the opportunistic retry after a failed handshake). */
  plaintext?: boolean;
  /** The TLS versions and ciphers this sender accepts (the node's `tls`). */
  versions?: TlsVersionOptions;
  timeoutMs?: number;
}

export interface OpenConnection {
  connection: SMTPConnection;
  facts: TlsFacts;
  local: { ip: string; port: number };
}

export class ConnectError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    /** The server's reply, when it answered with a refusal. */
    readonly response: string | undefined,
    /** The handshake itself failed: the caller's TLS policy decides what happens next. */
    readonly tlsFailure: boolean,
  ) {
    super(message);
  }
}

/** Connect, EHLO, STARTTLS when offered, EHLO again; report what the handshake showed. */
export function openConnection(o: OpenOptions): Promise<OpenConnection> {
  const connection = new SMTPConnection({
    host: o.host,
    port: o.port,
    localAddress: o.localAddress,
    name: o.ehloName,
    servername: o.servername,
    ignoreTLS: !!o.plaintext,
    allowInternalNetworkInterfaces: true,
    connectionTimeout: o.timeoutMs ?? 10_000,
    greetingTimeout: o.timeoutMs ?? 10_000,
    socketTimeout: 60_000,
    tls: { ...o.versions, rejectUnauthorized: false, key: o.key, cert: o.cert, servername: o.servername },
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: Error & { code?: string; response?: string }) => {
      if (settled) return;
      settled = true;
      connection.close();
      const tlsFailure = isTlsFailure(err);
      reject(new ConnectError(tlsFailure ? describeTlsFailure(err.message) : err.message, err.code, err.response, tlsFailure));
    };
    connection.once('error', fail);
    connection.connect((err?: Error) => {
      if (err) return fail(err as Error & { code?: string });
      settled = true;
      connection.removeListener('error', fail);
      // Later socket errors are reported through send(); keep one listener so they never crash the process.
      connection.on('error', () => undefined);
      const socket = socketOf(connection);
      const secure = !!connection.secure && !!socket;
      const raw = (connection as unknown as { _socket?: { localAddress?: string; localPort?: number } })._socket;
      resolve({
        connection,
        local: { ip: raw?.localAddress ?? o.localAddress, port: raw?.localPort ?? 0 },
        facts: secure
          ? { starttlsOffered: true, secure: true, ...cipherFacts(socket!), peerChain: peerChain(socket!), localChain: localChain(socket!) }
          : { starttlsOffered: ehloOffersStartTls(connection), secure: false, peerChain: [], localChain: [] },
      });
    });
  });
}

export interface SendResult {
  ok: boolean;
  /** The server's final reply line(s). */
  response: string;
  rejected: string[];
  /** Replies for individual rejected recipients. */
  rejectedResponses: Record<string, string>;
  /** The connection broke or timed out rather than the server answering. */
  connectionLost: boolean;
}

/**
 * One transaction. nodemailer's close() (the pool cut at stop or take-down) forgets the send in
 * flight and never calls back, so the connection's end settles it too, as a lost connection:
 * the message stays queued and spooled.
 */
export function sendMessage(connection: SMTPConnection, from: string, to: string[], raw: Buffer): Promise<SendResult> {
  return new Promise((resolve) => {
    const lost = { ok: false, response: 'connection closed before the reply', rejected: to, rejectedResponses: {}, connectionLost: true };
    const onEnd = () => resolve(lost);
    connection.once('end', onEnd);
    connection.send({ from, to }, raw, (err, info) => {
      connection.removeListener('end', onEnd);
      if (err) {
        const e = err as Error & {
          responseCode?: number;
          response?: string;
          rejected?: string[];
          rejectedErrors?: Array<{ recipient?: string; response?: string }>;
          code?: string;
        };
        const rejectedResponses: Record<string, string> = {};
        for (const r of e.rejectedErrors ?? []) if (r.recipient) rejectedResponses[r.recipient] = r.response ?? '';
        resolve({
          ok: false,
          response: e.response ?? e.message,
          rejected: e.rejected ?? to,
          rejectedResponses,
          connectionLost: !e.responseCode,
        });
        return;
      }
      const rejectedResponses: Record<string, string> = {};
      for (const r of (info?.rejectedErrors ?? []) as Array<{ recipient?: string; response?: string }>)
        if (r.recipient) rejectedResponses[r.recipient] = r.response ?? '';
      resolve({ ok: true, response: info?.response ?? '', rejected: info?.rejected ?? [], rejectedResponses, connectionLost: false });
    });
  });
}

/**
 * RSET between messages on a reused connection. nodemailer drops the callback when the socket
 * closes during RSET, so the connection's end and a timer also settle it.
 */
export function resetConnection(connection: SMTPConnection, timeoutMs = 10_000): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      connection.removeListener('end', onEnd);
      resolve(ok);
    };
    const onEnd = () => finish(false);
    const timer = setTimeout(() => finish(false), timeoutMs);
    connection.once('end', onEnd);
    connection.reset((err) => finish(!err));
  });
}
