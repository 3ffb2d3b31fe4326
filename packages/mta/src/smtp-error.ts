import type { SmtpReply } from '@relaylab/core';

/** smtp-server turns `responseCode` + message into the reply line; the message carries the enhanced code. */
export function smtpError(reply: SmtpReply): Error & { responseCode: number } {
  return Object.assign(new Error(`${reply.enhanced} ${reply.text}`), { responseCode: reply.code });
}
