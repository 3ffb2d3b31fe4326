import type SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { OutboundTlsVerdict } from '@relaylab/core';
import type { OpenConnection } from './client-adapter';

export interface PooledConnection extends OpenConnection {
  id: string;
  key: string;
  /** Messages sent over it so far. */
  messages: number;
  /** The TLS decision, taken once when the connection was opened. */
  verdict: OutboundTlsVerdict;
  destination: { host: string; ip: string; port: number };
}

export interface PoolOptions {
  /** Like nodemailer's pool: reconnect after this many messages. */
  maxMessages: number;
  /** Close a connection nobody used for this long (real milliseconds). */
  idleMs: number;
}

function alive(c: SMTPConnection): boolean {
  const state = c as unknown as { _destroyed?: boolean; _closing?: boolean };
  return !state._destroyed && !state._closing;
}

/** Idle SMTP connections per next hop, reused the way an MTA reuses them. */
export class ConnectionPool {
  private readonly idle = new Map<string, Array<{ pc: PooledConnection; timer: NodeJS.Timeout }>>();
  /** Connections carrying a message right now: closing the pool must end them too. */
  private readonly busy = new Set<PooledConnection['connection']>();
  private closed = false;

  constructor(private readonly options: PoolOptions) {}

  take(key: string): PooledConnection | undefined {
    const list = this.idle.get(key);
    while (list && list.length) {
      const { pc, timer } = list.pop()!;
      clearTimeout(timer);
      if (alive(pc.connection)) {
        this.busy.add(pc.connection);
        return pc;
      }
    }
    return undefined;
  }

  /** A freshly opened connection, in use until released. */
  track(pc: PooledConnection): PooledConnection {
    this.busy.add(pc.connection);
    return pc;
  }

  release(pc: PooledConnection, reusable: boolean): void {
    this.busy.delete(pc.connection);
    if (this.closed || !reusable || pc.messages >= this.options.maxMessages || !alive(pc.connection)) {
      pc.connection.quit();
      return;
    }
    const list = this.idle.get(pc.key) ?? [];
    const timer = setTimeout(() => {
      const at = list.findIndex((e) => e.pc === pc);
      if (at >= 0) list.splice(at, 1);
      pc.connection.quit();
    }, this.options.idleMs);
    timer.unref();
    list.push({ pc, timer });
    this.idle.set(pc.key, list);
  }

  /** Connections are reused again (the node came back up after closeAll). */
  reopen(): void {
    this.closed = false;
  }

  /** Every connection ends; those still carrying a message when they finish are not kept either, until reopen(). */
  closeAll(): void {
    this.closed = true;
    // A connection in the middle of a transaction is cut: its message stays queued and spooled.
    for (const connection of this.busy) connection.close();
    this.busy.clear();
    for (const list of this.idle.values()) {
      for (const { pc, timer } of list) {
        clearTimeout(timer);
        pc.connection.quit();
      }
    }
    this.idle.clear();
  }
}
