import { randomBytes } from 'node:crypto';
import { headerValues, parseReply } from '@relaylab/core';

/**
 * A non-delivery report as RFC 3464 shapes it (multipart/report; report-type=delivery-status)
 * with Exchange's wording in the human part [field]: "Delivery has failed to these recipients or
 * groups", then "Diagnostic information for administrators" with the generating server and the
 * reply ("Remote server returned '550 4.4.7 QUEUE.Expired...'").
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
}

const CRLF = '\r\n';

/** The original header block, as text/rfc822-headers carries it. */
function headerBlock(raw: Buffer): string {
  const text = raw.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  return (end >= 0 ? text.slice(0, end) : text).replace(/\r?\n/g, CRLF);
}

/** `550 4.4.7 QUEUE.Expired` → `4.4.7`; a reply without an enhanced code → `5.0.0`. */
export function statusOf(reply: string): string {
  const parsed = parseReply(reply);
  if (parsed?.enhanced) return parsed.enhanced;
  return parsed && parsed.code >= 400 && parsed.code < 500 ? '4.0.0' : '5.0.0';
}

export function composeDsn(d: DsnInput): { raw: Buffer; messageId: string } {
  const boundary = `relaylab-dsn-${randomBytes(8).toString('hex')}`;
  const messageId = `<${randomBytes(8).toString('hex').toUpperCase()}@${d.reportingMta}>`;
  const subject = headerValues(d.original, 'Subject')[0]?.replace(/\r?\n[ \t]*/g, ' ').trim() ?? '';
  const human = [
    'Delivery has failed to these recipients or groups:',
    '',
    ...d.recipients.map((r) => r.address),
    '',
    "Your message couldn't be delivered. The server that gave up on it is shown below.",
    '',
    'Diagnostic information for administrators:',
    '',
    `Generating server: ${d.reportingMta}`,
    '',
    ...d.recipients.flatMap((r) => [r.address, `Remote server returned '${r.reply}'`, '']),
    'Original message headers:',
    '',
    headerBlock(d.original),
  ];
  const perRecipient = d.recipients.flatMap((r) => [
    '',
    `Final-Recipient: rfc822; ${r.address}`,
    'Action: failed',
    `Status: ${statusOf(r.reply)}`,
    ...(r.remoteMta ? [`Remote-MTA: dns; ${r.remoteMta}`] : []),
    `Diagnostic-Code: smtp; ${r.reply.replace(/\r?\n/g, ' ')}`,
  ]);
  const lines = [
    `From: Mail Delivery System <${d.postmaster}>`,
    `To: <${d.to}>`,
    `Date: ${d.now.toUTCString().replace('GMT', '+0000')}`,
    `Subject: Undeliverable: ${subject}`,
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
    `Arrival-Date: ${d.arrivalDate.toUTCString().replace('GMT', '+0000')}`,
    ...perRecipient,
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    headerBlock(d.original),
    '',
    `--${boundary}--`,
    '',
  ];
  return { raw: Buffer.from(lines.join(CRLF), 'utf8'), messageId };
}
