import type { Socket } from 'node:net';
import type { SMTPServer } from 'smtp-server';
import { parseReply, type FaultKind } from '@relaylab/core';

export type FaultCommand = 'EHLO' | 'STARTTLS' | 'MAIL' | 'RCPT' | 'DATA';

/** How many more times a fault acts; Infinity until the node is healed. */
type Count = { remaining: number };

const take = (c: Count | undefined): boolean => {
  if (!c || c.remaining <= 0) return false;
  c.remaining--;
  return true;
};

/**
 * The faults a scenario has switched on for one node's listener. Plain data: the scenario says
 * what to break, and the gate below carries it out on the wire.
 */
export class NodeFaults {
  private fails = new Map<FaultCommand, { reply: string } & Count>();
  private drop?: Count;
  private handshake?: Count;
  private delayMs = 0;

  fail(command: FaultCommand, reply: string, times = Infinity): void {
    if (!parseReply(reply)) throw new Error(`fault reply must start with an SMTP code: ${reply}`);
    this.fails.set(command, { reply, remaining: times });
  }

  dropDuringData(times = Infinity): void {
    this.drop = { remaining: times };
  }

  tlsHandshakeFails(times = Infinity): void {
    this.handshake = { remaining: times };
  }

  slow(delayMs: number): void {
    this.delayMs = delayMs;
  }

  heal(): void {
    this.fails.clear();
    this.drop = undefined;
    this.handshake = undefined;
    this.delayMs = 0;
  }

  /** The reply this command gets instead of its own, consuming one use. */
  takeFail(command: FaultCommand): string | undefined {
    const f = this.fails.get(command);
    return take(f) ? f!.reply : undefined;
  }

  takeDrop(): boolean {
    return take(this.drop);
  }

  takeHandshake(): boolean {
    return take(this.handshake);
  }

  get delay(): number {
    return this.delayMs;
  }
}

/** What smtp-server's connection object offers that the gate uses; the one place that knows it. */
interface ConnectionInternals {
  id: string;
  _socket: Socket;
  _onCommand(command: Buffer, callback?: () => void): void;
  send(code: number, data?: string, context?: unknown): void;
  close(): void;
}

/** A fault acted on one session: the listener records it. */
export type FaultReport = (sessionId: string, fault: FaultKind, detail: string) => void;

const commandOf = (line: Buffer): FaultCommand | undefined => {
  const name = line.toString('latin1').split(' ', 1)[0]!.toUpperCase();
  if (name === 'HELO') return 'EHLO';
  return (['EHLO', 'STARTTLS', 'MAIL', 'RCPT', 'DATA'] as const).find((c) => c === name);
};

/**
 * Puts the node's faults between the socket and smtp-server's command handlers. smtp-server has
 * no hook for EHLO or STARTTLS, so the gate wraps each connection's command dispatch (a private
 * method: fault-gate tests break if smtp-server renames it). Returns the session ids' sockets,
 * so the listener can cut a connection in the middle of DATA.
 */
export function installFaultGate(server: SMTPServer, faults: NodeFaults, report: FaultReport): (sessionId: string) => Socket | undefined {
  const internals = server as unknown as { connect(socket: Socket, options: unknown): void; connections: Set<ConnectionInternals> };
  const connect = internals.connect.bind(server);
  internals.connect = (socket, options) => {
    const before = new Set(internals.connections);
    connect(socket, options);
    for (const c of internals.connections) if (!before.has(c)) wrap(c);
  };

  const wrap = (c: ConnectionInternals) => {
    const dispatch = c._onCommand.bind(c);
    c._onCommand = (line, callback) => {
      const go = () => gate(c, line, callback, dispatch);
      // A slow peer answers every command late, without ever going silent long enough to time out.
      if (faults.delay > 0) {
        report(c.id, 'slow', `answered ${commandOf(line) ?? 'a command'} ${faults.delay} ms late`);
        setTimeout(go, faults.delay);
      } else go();
    };
  };

  const gate = (c: ConnectionInternals, line: Buffer, callback: (() => void) | undefined, dispatch: ConnectionInternals['_onCommand']) => {
    const command = commandOf(line);
    const next = callback ?? (() => undefined);
    const reply = command ? faults.takeFail(command) : undefined;
    if (command && reply) {
      const parsed = parseReply(reply)!;
      report(c.id, 'fail', `answered ${command} with ${reply}`);
      c.send(parsed.code, `${parsed.enhanced ? `${parsed.enhanced} ` : ''}${parsed.text}`, false);
      setImmediate(next);
      return;
    }
    if (command === 'STARTTLS' && faults.takeHandshake()) {
      // Say yes, then answer the ClientHello with bytes that are no TLS record: the handshake fails.
      report(c.id, 'tlsHandshakeFails', 'answered STARTTLS with 220, then broke the TLS handshake');
      const socket = socketOf(c);
      socket.unpipe();
      socket.write('220 2.0.0 Ready to start TLS\r\n');
      socket.once('data', () => {
        socket.write(Buffer.from('this is not a TLS record\r\n'));
        socket.destroy();
      });
      socket.resume(); // unpipe left the socket paused; the ClientHello must reach the listener above

      return;
    }
    dispatch(line, callback);
  };

  // The server's own set of open connections, not a map of ours: smtp-server drops a connection
  // from it when it closes, while the plain socket a STARTTLS session began on never emits
  // 'close' (the TLS socket took its handle), so a map pruned on that event kept every TLS session.
  return (sessionId) => {
    for (const c of internals.connections) if (c.id === sessionId) return socketOf(c);
    return undefined;
  };
}

function socketOf(c: ConnectionInternals): Socket {
  return c._socket;
}
