import type { Socket } from 'node:net';
import type { SMTPServer } from 'smtp-server';
import type { ConnectionCountLimit, ReceiveLimits, SessionTimeLimit, SmtpReply } from '@relaylab/core';

/** What smtp-server's connection object offers that the limits use (private API, as in faults.ts). */
interface ConnectionInternals {
  id: string;
  _socket: Socket;
  _onCommand(command: Buffer, callback?: () => void): void;
  send(code: number, data?: string, context?: unknown): void;
}

interface Admitted {
  connector: string;
  ip: string;
  idleMs: number;
  idle?: NodeJS.Timeout;
  whole?: NodeJS.Timeout;
}

/**
 * A receive connector's connection limits: sessions at once (on the connector, and from one IP
 * address), how long a session may last, and how long a client may stay silent. Activity is a
 * whole command line, a reply, or message data: a client trickling a byte at a time never
 * finishes a line and times out; one trickling whole commands is still cut at ConnectionTimeout.
 */
export class SessionLimits {
  private readonly connections = new Map<string, ConnectionInternals>();
  private readonly admitted = new Map<string, Admitted>();
  /** connector → source IP → sessions open. */
  private readonly open = new Map<string, Map<string, number>>();

  /** `expired` records why a session is cut and gives the reply to send before closing it. */
  constructor(
    server: SMTPServer,
    private readonly expired: (sessionId: string, limit: SessionTimeLimit, ms: number) => SmtpReply,
  ) {
    const internals = server as unknown as { connect(socket: Socket, options: unknown): void; connections: Set<ConnectionInternals> };
    const connect = internals.connect.bind(server);
    internals.connect = (socket, options) => {
      const before = new Set(internals.connections);
      connect(socket, options);
      for (const c of internals.connections) if (!before.has(c)) this.watch(c);
    };
  }

  /** Counts the session against its connector, or names the limit it would exceed. */
  admit(
    sessionId: string,
    connector: string,
    ip: string,
    limits: ReceiveLimits,
    idleMs = limits.connectionInactivityTimeoutMs,
  ): ConnectionCountLimit | undefined {
    const bySource = this.open.get(connector) ?? new Map<string, number>();
    let total = 0;
    for (const n of bySource.values()) total += n;
    if (total >= limits.maxInboundConnection) return 'MaxInboundConnection';
    if ((bySource.get(ip) ?? 0) >= limits.maxInboundConnectionPerSource) return 'MaxInboundConnectionPerSource';
    bySource.set(ip, (bySource.get(ip) ?? 0) + 1);
    this.open.set(connector, bySource);
    const a: Admitted = { connector, ip, idleMs };
    this.admitted.set(sessionId, a);
    a.whole = setTimeout(() => this.cut(sessionId, 'ConnectionTimeout', limits.connectionTimeoutMs), limits.connectionTimeoutMs);
    a.whole.unref();
    this.touch(sessionId);
    return undefined;
  }

  /** The client or the server did something: the inactivity timer starts again. */
  touch(sessionId: string): void {
    const a = this.admitted.get(sessionId);
    if (!a) return;
    // The same timer started again: a message is a dozen commands, replies and data chunks.
    if (a.idle) {
      a.idle.refresh();
      return;
    }
    a.idle = setTimeout(() => this.cut(sessionId, 'ConnectionInactivityTimeout', a.idleMs), a.idleMs);
    a.idle.unref();
  }

  release(sessionId: string): void {
    this.connections.delete(sessionId);
    const a = this.admitted.get(sessionId);
    if (!a) return;
    this.admitted.delete(sessionId);
    clearTimeout(a.idle);
    clearTimeout(a.whole);
    const bySource = this.open.get(a.connector);
    const left = (bySource?.get(a.ip) ?? 1) - 1;
    if (left > 0) bySource!.set(a.ip, left);
    else bySource?.delete(a.ip);
  }

  private cut(sessionId: string, limit: SessionTimeLimit, ms: number): void {
    const c = this.connections.get(sessionId);
    if (!c || !this.admitted.has(sessionId)) return;
    const reply = this.expired(sessionId, limit, ms);
    // smtp-server closes the connection after any 421.
    c.send(reply.code, `${reply.enhanced} ${reply.text}`, false);
    this.release(sessionId);
  }

  private watch(c: ConnectionInternals): void {
    this.connections.set(c.id, c);
    c._socket.once('close', () => this.release(c.id));
    const dispatch = c._onCommand.bind(c);
    c._onCommand = (line, callback) => {
      this.touch(c.id);
      dispatch(line, callback);
    };
    const send = c.send.bind(c);
    c.send = (code, data, context) => {
      this.touch(c.id);
      send(code, data, context);
    };
  }
}
