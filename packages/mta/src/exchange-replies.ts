import type { Socket } from 'node:net';
import type { SMTPServer } from 'smtp-server';
import { exchangeBanner, REPLIES, replyText } from '@relaylab/core';

/**
 * Exchange's wording for the replies smtp-server writes itself: the banner, 250 to MAIL and RCPT,
 * 354 and 221 (docs/exchange.md, "The SMTP conversation Exchange shows"). smtp-server has options
 * for the EHLO line (heloResponse) and the DATA reply (the onData callback), not for these; it
 * writes each through its connection's `send(code, text, context)`, naming the step in `context`
 * (MAIL_FROM_OK, RCPT_TO_OK; `false` for the greeting). This wraps `send` on every connection (a
 * private method, as the fault gate's command dispatch is: exchange-conversation tests break if
 * smtp-server renames it) and rewrites only those steps; every other reply, refusals and fault
 * replies included, goes out as given.
 */
interface ConnectionInternals {
  name: string;
  send(code: number, data?: string | string[], context?: unknown): void;
}

export function installExchangeReplies(server: SMTPServer, hostname: string, now: () => Date): void {
  const internals = server as unknown as { connect(socket: Socket, options: unknown): void; connections: Set<ConnectionInternals> };
  const connect = internals.connect.bind(server);
  internals.connect = (socket, options) => {
    const before = new Set(internals.connections);
    connect(socket, options);
    for (const c of internals.connections) if (!before.has(c)) reword(c);
  };
  const reword = (c: ConnectionInternals) => {
    const send = c.send.bind(c);
    // the greeting smtp-server builds: `<name> ESMTP[ <banner>]`, sent with context false
    const greeting = new RegExp(`^${c.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} ESMTP`);
    c.send = (code, data, context) => {
      if (code === 220 && context === false && typeof data === 'string' && greeting.test(data)) return send(220, exchangeBanner(hostname, now()), false);
      if (code === 250 && context === 'MAIL_FROM_OK') return send(250, replyText(REPLIES.senderOk), false);
      if (code === 250 && context === 'RCPT_TO_OK') return send(250, replyText(REPLIES.recipientOk), false);
      if (code === 354) return send(354, replyText(REPLIES.startMailInput), false);
      if (code === 221 && data === 'Bye') return send(221, replyText(REPLIES.closing), false);
      return send(code, data, context);
    };
  };
}
