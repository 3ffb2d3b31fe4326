import { randomBytes } from 'node:crypto';
import { headerValues, parseReply } from '@relaylab/core';

/**
 * A delivery status notification as RFC 3464 shapes it (multipart/report; report-type=delivery-status)
 * with Exchange's wording in the human part [field]: "Delivery has failed to these recipients or
 * groups", then "Diagnostic information for administrators" with the generating server and the
 * reply ("Remote server returned '550 4.4.7 QUEUE.Expired...'"). A delay notice has the same
 * shape with `Action: delayed`, a 4.x.x status and `Will-Retry-Until`.
 */
export interface DsnInput {
  /** Host name of the node that gives up (Reporting-MTA). */
  reportingMta: string;
  /** The address the DSN is From (postmaster of the reporting organization). */
  postmaster: string;
  /** The original envelope sender, the DSN's only recipient. */
  to: string;
  originalMessageId: string;
  original: Buffer;
  arrivalDate: Date;
  now: Date;
  recipients: Array<{ address: string; reply: string; remoteMta?: string }>;
  /**
   * `delayed`: not a failure but a delay notice (DelayNotificationTimeout): the message is still
   * queued and will be tried until `willRetryUntil`. Default `failed`, a non-delivery report.
   */
  action?: 'failed' | 'delayed';
  willRetryUntil?: Date;
}

const CRLF = '\r\n';

/**
 * How much of the original a DSN returns, as Postfix's bounce_size_limit (default 50000 bytes):
 * the header block up to this size, cut at a field boundary. A DSN never carries the body.
 */
export const DSN_RETURN_LIMIT = 50_000;
/** Recipients the human-readable part lists one by one; the delivery-status part lists them all. */
export const DSN_LISTED_RECIPIENTS = 100;

/** The original header block, as text/rfc822-headers carries it, cut to `limit` bytes at a field boundary. */
function headerBlock(raw: Buffer, limit = DSN_RETURN_LIMIT): { text: string; cut?: { whole: number } } {
  const text = raw.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const whole = (end >= 0 ? text.slice(0, end) : text).replace(/\r?\n/g, CRLF);
  if (whole.length <= limit) return { text: whole };
  // A field ends where the next line does not start with white space (no folded continuation).
  const fieldEnds = [...whole.slice(0, limit + 2).matchAll(/\r\n(?![ \t])/g)].map((m) => m.index);
  return { text: whole.slice(0, fieldEnds.filter((i) => i <= limit).pop() ?? 0), cut: { whole: whole.length } };
}

/** `550 4.4.7 QUEUE.Expired` → `4.4.7`; a reply without an enhanced code → `5.0.0`. */
export function statusOf(reply: string): string {
  const parsed = parseReply(reply);
  if (parsed?.enhanced) return parsed.enhanced;
  return parsed && parsed.code >= 400 && parsed.code < 500 ? '4.0.0' : '5.0.0';
}

const rfc5322Date = (d: Date) => d.toUTCString().replace('GMT', '+0000');

/** Exchange's words for each kind of notice [field]. */
const WORDING = {
  failed: {
    subject: 'Undeliverable',
    heading: 'Delivery has failed to these recipients or groups:',
    explanation: "Your message couldn't be delivered. The server that gave up on it is shown below.",
  },
  delayed: {
    subject: 'Delivery delayed',
    heading: 'Delivery is delayed to these recipients or groups:',
    explanation: "This message hasn't been delivered yet. Delivery will continue to be attempted. The server that holds it is shown below.",
  },
};

export function composeDsn(d: DsnInput): { raw: Buffer; messageId: string } {
  const action = d.action ?? 'failed';
  const words = WORDING[action];
  const boundary = `relaylab-dsn-${randomBytes(8).toString('hex')}`;
  const messageId = `<${randomBytes(8).toString('hex').toUpperCase()}@${d.reportingMta}>`;
  const subject =
    headerValues(d.original, 'Subject')[0]
      ?.replace(/\r?\n[ \t]*/g, ' ')
      .trim() ?? '';
  const headers = headerBlock(d.original);
  const listed = d.recipients.slice(0, DSN_LISTED_RECIPIENTS);
  const more = d.recipients.length - listed.length;
  const andMore = more > 0 ? [`... and ${more} more recipients, listed in the delivery status below.`, ''] : [];
  const human = [
    words.heading,
    '',
    ...listed.map((r) => r.address),
    ...(more > 0 ? [`... and ${more} more`] : []),
    '',
    words.explanation,
    '',
    'Diagnostic information for administrators:',
    '',
    `Generating server: ${d.reportingMta}`,
    '',
    ...listed.flatMap((r) => [r.address, `Remote server returned '${r.reply}'`, '']),
    ...andMore,
    'Original message headers:',
    '',
    ...(headers.cut ? [`(the first ${headers.text.length} of ${headers.cut.whole} bytes)`, ''] : []),
    headers.text,
  ];
  const perRecipient = d.recipients.flatMap((r) => [
    '',
    `Final-Recipient: rfc822; ${r.address}`,
    `Action: ${action}`,
    `Status: ${statusOf(r.reply)}`,
    ...(r.remoteMta ? [`Remote-MTA: dns; ${r.remoteMta}`] : []),
    `Diagnostic-Code: smtp; ${r.reply.replace(/\r?\n/g, ' ')}`,
    ...(d.willRetryUntil ? [`Will-Retry-Until: ${rfc5322Date(d.willRetryUntil)}`] : []),
  ]);
  const lines = [
    `From: Mail Delivery System <${d.postmaster}>`,
    `To: <${d.to}>`,
    `Date: ${rfc5322Date(d.now)}`,
    `Subject: ${words.subject}: ${subject}`,
    `Message-ID: ${messageId}`,
    `In-Reply-To: ${d.originalMessageId}`,
    `References: ${d.originalMessageId}`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    'This is a MIME-formatted delivery status notification.',
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    ...human,
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${d.reportingMta}`,
    `Arrival-Date: ${rfc5322Date(d.arrivalDate)}`,
    ...perRecipient,
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    headers.text,
    '',
    `--${boundary}--`,
    '',
  ];
  return { raw: Buffer.from(lines.join(CRLF), 'utf8'), messageId };
}
