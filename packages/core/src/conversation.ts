import type { SmtpReply } from './codes';
import { rfc5322Date } from './received';

/**
 * The words a node answers in on the wire: Exchange's for the roles that play Exchange
 * (docs/exchange.md, "The SMTP conversation Exchange shows"), the listener's plain MTA wording
 * for the others. The codes and texts themselves live in the catalogue (codes.ts).
 */

/** A reply without its code, as a listener hands it to the SMTP library: `2.1.0 Sender OK`. */
export function replyText(r: SmtpReply): string {
  return r.enhanced ? `${r.enhanced} ${r.text}` : r.text;
}

/** `220 <fqdn> Microsoft ESMTP MAIL Service ready at <RFC 5322 date>`, without the 220. */
export function exchangeBanner(hostname: string, now: Date): string {
  return `${hostname} Microsoft ESMTP MAIL Service ready at ${rfc5322Date(now)}`;
}

/** The EHLO greeting line `<fqdn> Hello [<ip>]`, as a format of host name and bracketed client address. */
export const EXCHANGE_EHLO_GREETING = '%s Hello %s';

/**
 * The 250 after DATA, without the 250: Exchange names the message, its queue id (InternalId) and
 * the server that took it, `2.6.0 <id> [InternalId=<n>, Hostname=<fqdn>] Queued mail for delivery`;
 * a plain MTA node keeps the shorter `2.6.0 <id> Queued mail for delivery`.
 */
export function queuedText(queued: SmtpReply, messageId: string, exchange?: { internalId: number; hostname: string }): string {
  const where = exchange ? ` [InternalId=${exchange.internalId}, Hostname=${exchange.hostname}]` : '';
  return `${queued.enhanced} ${messageId}${where} ${queued.text}`;
}
