import type { SmtpReply } from './codes';

/**
 * Every decision relaylab's policy takes, in one shape: go on, refuse with a reply the client
 * hears now, or keep the message and try again later. The reply comes from the catalogue in
 * codes.ts; the reason names the setting that decided and the value that was observed.
 * Verdicts are returned, never thrown: the runtime carries them out.
 */
export type Verdict = Accepted | Refused | Deferred;

export interface Accepted {
  outcome: 'accept';
  reason: string;
}

export interface Refused {
  outcome: 'refuse';
  reply: SmtpReply;
  reason: string;
}

export interface Deferred {
  outcome: 'defer';
  reply: SmtpReply;
  reason: string;
}

export const accept = (reason: string): Accepted => ({ outcome: 'accept', reason });
export const refuse = (reply: SmtpReply, reason: string): Refused => ({ outcome: 'refuse', reply, reason });
export const defer = (reply: SmtpReply, reason: string): Deferred => ({ outcome: 'defer', reply, reason });
