/**
 * Every SMTP reply relaylab gives or records, in one catalogue. Codes tagged [field] or [lab] in
 * docs/exchange.md ("Provenance") are relaylab's best reading of real traces; correct them here and only here.
 */

export interface SmtpReply {
  code: number;
  enhanced: string;
  text: string;
}

const reply = (code: number, enhanced: string, text: string): SmtpReply => ({ code, enhanced, text });

export const REPLIES = {
  // Exchange Online, delivery through a connector failed (all temporary) [doc]
  dnsFailed: reply(450, '4.4.312', 'DNS query failed'),
  connectionTimedOut: reply(450, '4.4.315', 'Connection timed out'),
  connectionRefused: reply(450, '4.4.316', 'Connection refused'),
  cannotConnect: reply(450, '4.4.317', 'Cannot connect to remote server'),
  connectionClosed: reply(450, '4.4.318', 'Connection was closed abruptly'),
  certificateValidationFailed: reply(450, '4.7.320', 'Certificate validation failed'),
  // after retries expire [field]
  queueExpired: reply(550, '4.4.7', 'QUEUE.Expired; message expired'),
  // the queued message could not be read back from the node's spool (file gone or damaged) [lab]
  spoolUnreadable: reply(550, '5.3.0', 'The queued message could not be read back from the queue'),

  // inbound refusals
  startTlsRequired: reply(451, '5.7.3', 'STARTTLS is required to send mail'), // [field]; Partner RequireTls [lab]
  tenantInboundAttribution: reply(
    550,
    '5.7.51',
    "TenantInboundAttribution; There is a partner connector configured that matched the message's recipient domain. The connector had either the RestrictDomainsToIPAddresses or RestrictDomainsToCertificate set",
  ), // [field]
  tenantRelayDenied: reply(550, '5.7.64', 'TenantAttribution; Relay Access Denied'), // [doc]
  relayDenied: reply(550, '5.7.54', 'SMTP; Unable to relay recipient in non-accepted domain'), // [doc]
  recipientNotFoundOnline: reply(550, '5.1.10', 'RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'), // [doc]
  recipientNotFound: reply(550, '5.1.1', 'User unknown'), // [lab]
  noRoute: reply(550, '5.4.4', 'SMTPSEND.DNS.NonExistentDomain; nonexistent domain'), // [doc]
  noReceiveConnector: reply(554, '5.7.1', 'No receive connector accepts connections from this address'), // [lab]

  // receive connector limits (MaxMessageSize, MaxRecipientsPerMessage, MaxInboundConnectionPerSource,
  // MaxInboundConnection, ConnectionTimeout, ConnectionInactivityTimeout) [field]
  messageTooLarge: reply(552, '5.3.4', 'Message size exceeds fixed maximum message size'),
  tooManyRecipients: reply(452, '4.5.3', 'Too many recipients'),
  tooManyConnections: reply(421, '4.3.2', 'Service not available'),
  sessionTimedOut: reply(421, '4.4.1', 'Connection timed out'),
  acceptFailed: reply(451, '4.3.0', 'Temporary failure while accepting the message'), // [lab]

  // acceptance
  queued: reply(250, '2.6.0', 'Queued mail for delivery'),
  recipientOk: reply(250, '2.1.5', 'Recipient OK'),
  senderOk: reply(250, '2.1.0', 'Sender OK'),
  // the rest of Exchange's conversation (docs/exchange.md, "The SMTP conversation Exchange shows") [field]
  startMailInput: reply(354, '', 'Start mail input; end with <CRLF>.<CRLF>'),
  closing: reply(221, '2.0.0', 'Service closing transmission channel'),
} as const;

export type ReplyName = keyof typeof REPLIES;

/** `450 4.7.320 Certificate validation failed` */
export function formatReply(r: SmtpReply, detail?: string): string {
  const base = `${r.code} ${r.enhanced} ${r.text}`;
  return detail ? `${base} [${detail}]` : base;
}

/** Parse `550 5.7.51 text` (the first line of a reply) back into its parts. */
export function parseReply(line: string): SmtpReply | undefined {
  const m = /^(\d{3})[ -](?:(\d\.\d{1,3}\.\d{1,3})\s+)?(.*)$/s.exec(line.trim());
  if (!m) return undefined;
  return { code: Number(m[1]), enhanced: m[2] ?? '', text: m[3] ?? '' };
}

export function isTemporary(r: SmtpReply): boolean {
  return r.code >= 400 && r.code < 500;
}
