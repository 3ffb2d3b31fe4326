import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  bodySha256,
  classifySubmission,
  fieldValues,
  formatReply,
  parseHeaders,
  planDisposition,
  prependHeader,
  processMessage,
  queuedText,
  receivedHeader,
  REPLIES,
  routeRecipient,
  summarizeTls,
  type AcceptedRecipient,
  type Classification,
  type ClassificationSummary,
  type Clock,
  type Disposition,
  type HeaderEdit,
  type MessageOutcome,
  type NodeContext,
} from '@relaylab/core';
import { composeDsn } from './dsn';
import type { Acceptance, SessionState } from './listener';
import type { MailboxStore } from './mailbox';
import type { NodeTrace } from './node-trace';
import type { DeliveryQueue, FailedRecipient } from './queue';

export interface Submission {
  from: string;
  to: string[];
  raw: Buffer;
}

export interface IntakeDeps {
  ctx: NodeContext;
  clock: Clock;
  trace: NodeTrace;
  logger: Logger;
  queue: DeliveryQueue;
  mailboxes: MailboxStore;
}

/** What the pipeline is given besides the node: the message as it stands and where it came from. */
interface ProcessInput {
  raw: Buffer;
  from: string;
  recipients: string[];
  classification?: Classification;
  /** The connecting client, for a message received over SMTP. */
  clientIp?: string;
  helo?: string;
}

/** After the message is taken: a DSN was sent (its Message-ID), or why none was. */
export interface SenderNotice {
  dsn?: string;
  noDsn?: string;
}

/** Random bytes drawn a few thousand at a time: asking the CSPRNG for 6 bytes twice per message shows in a profile. */
const pool = { bytes: Buffer.alloc(0), at: 0 };
function randomHex(n: number): string {
  if (pool.at + n > pool.bytes.length) {
    pool.bytes = randomBytes(6144);
    pool.at = 0;
  }
  const hex = pool.bytes.toString('hex', pool.at, pool.at + n);
  pool.at += n;
  return hex;
}

const newId = () => randomHex(6).toUpperCase();

function summarize(c: Classification | undefined, outcome: MessageOutcome): ClassificationSummary | undefined {
  if (!c) return undefined;
  return {
    authAs: outcome.authAs,
    authSource: outcome.authSource,
    authMechanism: c.authMechanism,
    directionality: outcome.directionality,
    acceptCrossPremises: c.acceptCrossPremises,
    reason: c.reason,
    rules: outcome.rules.fired,
    antispam: outcome.antispam,
    scl: outcome.scl,
  };
}

/**
 * How a message comes to be this node's: received in an SMTP session or submitted by a user. Each
 * way runs the pipeline, plans everything the message becomes (core's planDisposition) and then
 * carries the plan out: queue items, mailboxes, bounces.
 */
export class MessageIntake {
  /** Exchange's InternalId in the 250 after DATA: this node's count of messages taken over SMTP. */
  private internalIds = 0;

  constructor(private readonly deps: IntakeDeps) {}

  /** DATA is complete: the message is taken (before the 250 reply) or refused by a mail flow rule. */
  fromSession(s: SessionState, from: string, original: Buffer): Acceptance {
    const { ctx, clock, trace } = this.deps;
    let raw = original;
    // One parse gives the Message-ID and the headers the trace shows, unless a Message-ID is added.
    let headersIn = parseHeaders(raw);
    let messageId = fieldValues(headersIn, 'message-id')[0];
    let addedId: HeaderEdit | undefined;
    if (!messageId) {
      ({ raw, messageId, edit: addedId } = this.addMessageId(raw));
      headersIn = parseHeaders(raw);
    }
    const recipients = [...s.recipients.keys()];
    const received = receivedHeader({
      style: ctx.preset.receivedStyle,
      ehlo: s.ehlo,
      clientIp: s.remote.ip,
      byHost: ctx.spec.hostname,
      byIp: ctx.spec.address,
      tls: { secure: s.tls.secure, protocol: s.tls.protocol, cipher: s.tls.cipher, standardCipher: s.cipher.standardCipher, cipherBits: s.cipher.cipherBits },
      queueId: newId(),
      recipient: recipients.length === 1 ? recipients[0] : undefined,
      date: clock.now(),
    });
    raw = prependHeader(raw, 'Received', received);
    const { classification } = s;
    const outcome = this.process({ raw, from, recipients, classification, clientIp: s.remote.ip, helo: s.ehlo });
    const at = clock.now();
    if (outcome.verdict.outcome === 'refuse') return outcome.verdict;
    const plan = planDisposition(ctx, from, outcome, s.recipients);
    const reply = queuedText(REPLIES.queued, messageId, ctx.preset.exchange ? { internalId: ++this.internalIds, hostname: ctx.spec.hostname } : undefined);
    trace.emit(
      {
        type: 'received',
        sessionId: s.id,
        messageId,
        from,
        to: recipients,
        local: s.local,
        remote: s.remote,
        ehlo: s.ehlo,
        tls: summarizeTls(s.tls),
        clientCertificateVerified: s.clientCertificate?.valid,
        clientCertificateProblems: s.clientCertificate?.problems,
        connector: s.inbound?.connector ?? s.receiveConnector?.Name,
        connectorType: s.inbound?.connectorType,
        connectorMatchedBy: s.inbound?.matchedBy,
        reason: s.inbound?.verdict.reason ?? '',
        replies: [`250 ${reply}`],
        classification: summarize(classification, outcome),
        headersIn,
        bodySha256: bodySha256(original),
      },
      at,
    );
    if (addedId) trace.edits(messageId, [addedId], at);
    trace.edits(messageId, [{ op: 'prepend', name: 'Received', value: received, reason: 'every hop records itself' }], at);
    trace.edits(messageId, outcome.edits);
    this.commit(messageId, from, outcome, plan);
    return { ...outcome.verdict, messageId, reply };
  }

  /** A user of this node sends a message (what Outlook does over MAPI, not an SMTP hop). */
  submit(message: Submission): string {
    const { ctx, clock, trace } = this.deps;
    let raw = message.raw;
    let headersIn = parseHeaders(raw);
    let messageId = fieldValues(headersIn, 'message-id')[0];
    if (!messageId) {
      const added = this.addMessageId(raw);
      ({ raw, messageId } = added);
      headersIn = parseHeaders(raw);
      trace.edits(messageId, [added.edit]);
    }
    const at = clock.now();
    const classification = ctx.preset.exchange ? classifySubmission(ctx) : undefined;
    const accepted = new Map<string, AcceptedRecipient>();
    const refused: FailedRecipient[] = [];
    const relay = { allowed: true, reason: `submitted by a user of ${ctx.spec.hostname}` };
    for (const rcpt of message.to) {
      const decision = routeRecipient(ctx, rcpt, relay, 'submission');
      if (decision.outcome === 'refuse') refused.push({ recipient: rcpt, reply: formatReply(decision.reply), reason: decision.reason });
      else accepted.set(rcpt, decision);
    }
    const outcome = this.process({ raw, from: message.from, recipients: [...accepted.keys()], classification });
    trace.emit(
      {
        type: 'submitted',
        messageId,
        from: message.from,
        to: message.to,
        classification: summarize(classification, outcome),
        headersIn,
        bodySha256: bodySha256(raw),
      },
      at,
    );
    const refusedNotice = refused.length ? this.notifySender({ messageId, from: message.from, raw, arrived: clock.now(), failed: refused }) : undefined;
    for (const r of refused) {
      trace.emit({ type: 'rejected', messageId, recipients: [r.recipient], reply: r.reply, reason: r.reason, by: trace.node, ...refusedNotice }, at);
    }
    trace.edits(messageId, outcome.edits);
    if (outcome.verdict.outcome === 'refuse') {
      const { reply, reason } = outcome.verdict;
      trace.emit({ type: 'rejected', messageId, recipients: [...accepted.keys()], reply: formatReply(reply), reason, by: trace.node }, at);
      return messageId;
    }
    this.commit(messageId, message.from, outcome, planDisposition(ctx, message.from, outcome, accepted));
    return messageId;
  }

  /**
   * A DSN (RFC 3464) back to the envelope sender, submitted by this node like any message. A
   * message with the null sender is itself a notification and never gets one (RFC 5321 §4.5.5).
   */
  notifySender(failure: {
    messageId: string;
    from: string;
    raw: Buffer;
    arrived: Date;
    failed: FailedRecipient[];
    /** A delay notice (DelayNotificationTimeout) rather than a non-delivery report. */
    delayed?: { willRetryUntil: Date };
  }): SenderNotice {
    const { messageId, from, failed } = failure;
    if (!from) return { noDsn: 'the message has the null sender (it is a notification itself): no DSN is sent for it' };
    const { ctx, clock, trace } = this.deps;
    const dsn = composeDsn({
      reportingMta: ctx.spec.hostname,
      postmaster: `postmaster@${ctx.acceptedDomains[0] ?? ctx.spec.hostname}`,
      to: from,
      originalMessageId: messageId,
      original: failure.raw,
      arrivalDate: failure.arrived,
      now: clock.now(),
      recipients: failed.map((f) => ({ address: f.recipient, reply: f.reply, remoteMta: f.remoteMta })),
      ...(failure.delayed && { action: 'delayed' as const, willRetryUntil: failure.delayed.willRetryUntil }),
    });
    trace.emit({
      type: 'dsn',
      messageId,
      dsnMessageId: dsn.messageId,
      to: from,
      recipients: failed.map((f) => f.recipient),
      reply: failed[0]?.reply ?? '',
      ...(failure.delayed && { action: 'delayed' as const }),
    });
    this.submit({ from: '', to: [from], raw: dsn.raw });
    return { dsn: dsn.messageId };
  }

  /** The caller traces the edit once the message is taken. */
  private addMessageId(raw: Buffer): { raw: Buffer; messageId: string; edit: HeaderEdit } {
    const messageId = `<${newId()}@${this.deps.ctx.spec.hostname}>`;
    const edit: HeaderEdit = { op: 'prepend', name: 'Message-ID', value: messageId, reason: 'the message had no Message-ID' };
    return { raw: prependHeader(raw, edit.name, messageId), messageId, edit };
  }

  private process(input: ProcessInput): MessageOutcome {
    return processMessage({ ...input, ctx: this.deps.ctx, now: this.deps.clock.now(), networkMessageId: randomUUID() });
  }

  /**
   * Carries a plan out: queue items first (the only step that can still fail, writing the spool,
   * and it fails before any mailbox holds a copy), then mailboxes, then bounces. A DSN that cannot
   * be sent no longer undoes the message: the bounce is traced without one.
   */
  private commit(messageId: string, from: string, outcome: MessageOutcome, plan: Disposition): void {
    const { clock, trace, queue, mailboxes, logger } = this.deps;
    const at = clock.now();
    if (plan.deleted) {
      const { rule, recipients } = plan.deleted;
      trace.emit({ type: 'deleted', messageId, recipients, rule, reason: `mail flow rule ${rule} deleted the message silently` }, at);
      return;
    }
    for (const r of plan.retargeted) trace.emit({ type: 'retargeted', messageId, recipient: r.rcpt, to: r.to, reason: r.reason }, at);
    for (const { edits, ...relay } of plan.relays) {
      queue.enqueue({ id: newId(), messageId, ...relay });
      trace.edits(messageId, edits);
    }
    for (const l of plan.local) {
      mailboxes.put({ messageId, from, recipient: l.mailbox, raw: outcome.raw, deliveredAt: at, folder: l.folder });
      trace.emit({ type: 'delivered', messageId, recipient: l.rcpt, mailbox: l.mailbox, folder: l.folder }, at);
    }
    for (const u of plan.unroutable) {
      let notice: SenderNotice;
      try {
        notice = this.notifySender({ messageId, from, raw: outcome.raw, arrived: at, failed: [{ recipient: u.rcpt, reply: u.reply, reason: u.reason }] });
      } catch (err) {
        logger.error({ err, messageId }, 'the DSN for an unroutable recipient could not be sent');
        notice = { noDsn: `the DSN could not be composed: ${(err as Error).message}` };
      }
      trace.emit({ type: 'bounced', messageId, recipients: [u.rcpt], reply: u.reply, reason: u.reason, ...notice }, at);
    }
  }
}
