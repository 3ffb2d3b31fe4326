import type { Socket } from 'node:net';
import type { SMTPServer } from 'smtp-server';

/** smtp-server's own pause before the 220, in which a client that talks first gets 421 "You talk too soon". */
export const SMTP_SERVER_GREETING_PAUSE_MS = 100;

interface ConnectionInternals {
  needsUpgrade?: boolean;
  connectionReady(next?: () => void): void;
}

/**
 * Sets how long a new connection waits for its 220. smtp-server always waits 100 ms (an
 * early-talker check of its own: Exchange greets at once) and has no option for it. A lab that
 * replays a day of retries opens a new connection for each, and 100 ms a hop adds up to minutes.
 *
 * smtp-server schedules `connectionReady()` (which sends the greeting) from its connection's
 * `init()`; this wraps `connect` as the fault gate does, turns that call into a no-op and
 * greets after `pauseMs` instead. A connection over the client
 * limit (421, no greeting) or one that starts with a TLS handshake is left to smtp-server.
 */
export function setGreetingPause(server: SMTPServer, pauseMs: number): void {
  const internals = server as unknown as {
    connect(socket: Socket, options: unknown): void;
    connections: Set<ConnectionInternals>;
    options: { maxClients?: number };
  };
  const connect = internals.connect.bind(server);
  internals.connect = (socket, options) => {
    const before = new Set(internals.connections);
    connect(socket, options);
    const over = !!internals.options.maxClients && internals.connections.size > internals.options.maxClients;
    for (const c of internals.connections) if (!before.has(c) && !over && !c.needsUpgrade) greetAfter(c);
  };
  const greetAfter = (c: ConnectionInternals) => {
    const ready = c.connectionReady.bind(c);
    // smtp-server's own timer finds a no-op; this one greets.
    c.connectionReady = () => undefined;
    setTimeout(ready, pauseMs).unref();
  };
}
