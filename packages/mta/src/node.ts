import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import type { SMTPServer } from 'smtp-server';
import {
  classifySubmission,
  formatReply,
  headerValues,
  messageIdOf,
  parseHeaders,
  planDisposition,
  prependHeader,
  processMessage,
  receivedHeader,
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
  type Resolver,
  type TraceSink,
  type TrustStore,
} from '@relaylab/core';
import { Deliverer } from './delivery';
import { composeDsn } from './dsn';
import { NodeFaults } from './faults';
import { createListener, type Acceptance, type SessionState } from './listener';
import { MailboxStore } from './mailbox';
import { ConnectionPool } from './pool';
import { DeliveryQueue, type FailedRecipient } from './queue';
import { Spool } from './spool';

/** How a node finds the other nodes' ports and names: the lab knows, DNS only gives addresses. */
export interface Directory {
  /** `host` picks among nodes that share an address (tenants of one Exchange Online service). */
  portOf(ip: string, host?: string): number;
  nodeAt(ip: string, port: number): string | undefined;
}

export interface NodeMaterial {
  key?: string;
  /** Leaf plus intermediates, PEM. */
  chainPem?: string;
  trust: TrustStore;
}

export interface MailNodeOptions {
  ctx: NodeContext;
  material: NodeMaterial;
  resolver: Resolver;
  clock: Clock;
  trace: TraceSink;
  directory: Directory;
  logger?: Logger;
  /** 0 picks a free port (embedded labs run side by side). */
  port: number;
  maxMessagesPerConnection?: number;
  /**
   * Where accepted messages are kept until delivered (one file per queue item, written before the
   * 250 reply). A node started on a spool that holds items takes them back. None: memory only.
   */
  spoolDir?: string;
  /** Real-time limits of the listener; a client that stays silent longer is cut off with 421. */
  timeouts?: ListenerTimeouts;
}

export interface ListenerTimeouts {
  /**
   * Replaces every receive connector's ConnectionInactivityTimeout (Exchange's default is 5
   * minutes on Mailbox servers): a lab that wants idle clients cut quickly sets it.
   */
  socketMs?: number;
  /** How long stop() lets open sessions finish (default 1 s: a lab stops promptly). */
  closeMs?: number;
  /** Sessions served at once; more get 421 (default 100). */
  maxClients?: number;
}

export interface Submission {
  from: string;
  to: string[];
  raw: Buffer;
}

const newId = () => randomBytes(6).toString('hex').toUpperCase();

function summarize(c: Classification | undefined, o: MessageOutcome): ClassificationSummary | undefined {
  if (!c) return undefined;
  return {
    authAs: o.authAs,
    authSource: o.authSource,
    authMechanism: c.authMechanism,
    directionality: o.directionality,
    acceptCrossPremises: c.acceptCrossPremises,
    reason: c.reason,
    rules: o.rules.fired,
    antispam: o.antispam,
    scl: o.scl,
  };
}

/**
 * One simulated mail server: a listener, a queue per next hop, mailboxes. Exchange Online,
 * Exchange Server, Edge, partner and Internet MTAs differ only in the NodeContext they get.
 */
export class MailNode {
  readonly mailboxes = new MailboxStore();
  readonly queue: DeliveryQueue;
  /** Faults a scenario switched on for this node's listener. */
  readonly faults = new NodeFaults();
  private down = false;
  private readonly pool: ConnectionPool;
  private readonly server: SMTPServer;
  private readonly logger: Logger;
  private boundPort = 0;
  /**
   * Spool files the last start found broken and moved to `corrupt/`: one line each, for the
   * command that started the node to show even when its logs are off.
   */
  spoolWarnings: string[] = [];

  constructor(private readonly o: MailNodeOptions) {
    const { ctx } = o;
    this.logger = (o.logger ?? pino({ level: 'silent' })).child({ node: ctx.name, role: ctx.spec.role });
    this.pool = new ConnectionPool({ maxMessages: o.maxMessagesPerConnection ?? 100, idleMs: 5000 });
    const deliverer = new Deliverer({
      identity: { node: ctx.name, hostname: ctx.spec.hostname, address: ctx.spec.address, key: o.material.key, cert: o.material.chainPem },
      resolver: o.resolver,
      clock: o.clock,
      trust: o.material.trust,
      pool: this.pool,
      trace: o.trace,
      portOf: (ip, host) => o.directory.portOf(ip, host),
    });
    this.queue = new DeliveryQueue(deliverer, {
      node: ctx.name,
      clock: o.clock,
      trace: o.trace,
      retry: ctx.preset.retry,
      maxConnectionsPerHop: 2,
      nodeAt: (ip, port) => o.directory.nodeAt(ip, port),
      spool: o.spoolDir ? new Spool(o.spoolDir) : undefined,
      onFinalFailure: (item, failed) => this.notifySender(item.messageId, item.from, item.raw, item.enqueuedAt, failed),
    });
    this.server = createListener({
      ctx,
      key: o.material.key,
      chainPem: o.material.chainPem,
      trust: o.material.trust,
      clock: o.clock,
      trace: o.trace,
      logger: this.logger,
      timeouts: o.timeouts ?? {},
      faults: this.faults,
      listenPort: () => this.boundPort,
      accept: (session, from, raw) => this.acceptFromSession(session, from, raw),
    });
  }

  get name(): string {
    return this.o.ctx.name;
  }

  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    const { restored, problems, sweptTemps } = this.queue.restore();
    if (restored.length) this.logger.info({ items: restored.length }, 'took back what the spool held');
    if (sweptTemps.length) this.logger.info({ files: sweptTemps }, 'removed temp files of spool writes a crash cut short');
    this.spoolWarnings = problems.map((p) => `spool file ${p.file} is not a valid queue item (${p.reason}); moved to ${p.movedTo}, not delivered`);
    for (const p of problems) this.logger.warn({ file: p.file, movedTo: p.movedTo, problem: p.reason }, 'spool file is not a valid queue item; moved aside, not delivered');
    await this.listen(this.o.port);
    this.boundPort = (this.server.server.address() as AddressInfo).port;
    this.queue.start();
    this.queue.kick();
    this.logger.info({ address: this.o.ctx.spec.address, port: this.boundPort }, 'listening');
  }

  private listen(port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.server.once('error', onError);
      this.server.listen(port, this.o.ctx.spec.address, () => {
        this.server.server.removeListener('error', onError);
        resolve();
      });
    });
  }

  /**
   * The host goes away: its listener closes (senders get connection refused), open sessions are
   * cut, and it delivers nothing; its queue and spool stay as they are for `up()`.
   */
  async takeDown(): Promise<void> {
    if (this.down) return;
    this.down = true;
    this.queue.pause();
    this.pool.closeAll();
    const closed = new Promise<void>((resolve) => this.server.server.close(() => resolve()));
    const connections = (this.server as unknown as { connections: Set<{ _socket?: { destroy(): void } }> }).connections;
    for (const c of connections) c._socket?.destroy();
    await closed;
  }

  /** Back on the same address and port, with what it held. */
  async bringUp(): Promise<void> {
    if (!this.down) return;
    await this.listen(this.boundPort);
    this.down = false;
    this.queue.resume();
  }

  get isDown(): boolean {
    return this.down;
  }

  async stop(): Promise<void> {
    const draining = this.queue.stop();
    this.pool.closeAll();
    await draining;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  isIdle(): boolean {
    return this.queue.isIdle();
  }

  /**
   * A DSN (RFC 3464) back to the envelope sender, submitted by this node like any message. A
   * message with the null sender is itself a notification and never gets one (RFC 5321 §4.5.5).
   */
  private notifySender(messageId: string, from: string, raw: Buffer, arrived: Date, failed: FailedRecipient[]): { dsn?: string; noDsn?: string } {
    if (!from) return { noDsn: 'the message has the null sender (it is a notification itself): no DSN is sent for it' };
    const { spec, acceptedDomains } = this.o.ctx;
    const dsn = composeDsn({
      reportingMta: spec.hostname,
      postmaster: `postmaster@${acceptedDomains[0] ?? spec.hostname}`,
      to: from,
      originalMessageId: messageId,
      original: raw,
      arrivalDate: arrived,
      now: this.o.clock.now(),
      recipients: failed.map((f) => ({ address: f.recipient, reply: f.reply, remoteMta: f.remoteMta })),
    });
    const at = this.o.clock.now().toISOString();
    this.o.trace.emit({ type: 'dsn', at, node: this.name, messageId, dsnMessageId: dsn.messageId, to: from, recipients: failed.map((f) => f.recipient), reply: failed[0]?.reply ?? '' });
    this.submit({ from: '', to: [from], raw: dsn.raw });
    return { dsn: dsn.messageId };
  }

  /** A user of this node sends a message (what Outlook does over MAPI, not an SMTP hop). */
  submit(message: Submission): string {
    let raw = message.raw;
    let messageId = messageIdOf(raw);
    if (!messageId) {
      const added = this.addMessageId(raw);
      ({ raw, messageId } = added);
      this.emitEdits(messageId, [added.edit]);
    }
    const at = this.o.clock.now().toISOString();
    const classification = this.o.ctx.preset.exchange ? classifySubmission(this.o.ctx) : undefined;
    const decisions = new Map<string, AcceptedRecipient>();
    const refused: Array<{ rcpt: string; reply: string; reason: string }> = [];
    const relay = { allowed: true, reason: `submitted by a user of ${this.o.ctx.spec.hostname}` };
    for (const rcpt of message.to) {
      const decision = routeRecipient(this.o.ctx, rcpt, relay, 'submission');
      if (decision.outcome === 'refuse') refused.push({ rcpt, reply: formatReply(decision.reply), reason: decision.reason });
      else decisions.set(rcpt, decision);
    }
    const outcome = this.process(messageId, raw, message.from, [...decisions.keys()], classification, undefined, undefined);
    this.o.trace.emit({ type: 'submitted', at, node: this.name, messageId, from: message.from, to: message.to, classification: summarize(classification, outcome), headersIn: parseHeaders(raw) });
    const refusedNotice = refused.length ? this.notifySender(messageId, message.from, raw, this.o.clock.now(), refused.map((r) => ({ recipient: r.rcpt, reply: r.reply, reason: r.reason }))) : undefined;
    for (const r of refused) {
      this.o.trace.emit({ type: 'rejected', at, node: this.name, messageId, recipients: [r.rcpt], reply: r.reply, reason: r.reason, by: this.name, ...refusedNotice });
    }
    this.emitEdits(messageId, outcome.edits);
    if (outcome.verdict.outcome === 'refuse') {
      this.o.trace.emit({ type: 'rejected', at, node: this.name, messageId, recipients: [...decisions.keys()], reply: formatReply(outcome.verdict.reply), reason: outcome.verdict.reason, by: this.name });
      return messageId;
    }
    this.commit(messageId, message.from, outcome, planDisposition(this.o.ctx, message.from, outcome, decisions));
    return messageId;
  }

  /** The caller traces the edit once the message is taken. */
  private addMessageId(raw: Buffer): { raw: Buffer; messageId: string; edit: HeaderEdit } {
    const messageId = `<${newId()}@${this.o.ctx.spec.hostname}>`;
    const edit: HeaderEdit = { op: 'prepend', name: 'Message-ID', value: messageId, reason: 'the message had no Message-ID' };
    return { raw: prependHeader(raw, edit.name, messageId), messageId, edit };
  }

  private process(messageId: string, raw: Buffer, from: string, recipients: string[], classification: Classification | undefined, clientIp: string | undefined, helo: string | undefined): MessageOutcome {
    return processMessage({
      ctx: this.o.ctx,
      classification,
      raw,
      from,
      recipients,
      clientIp,
      helo,
      now: this.o.clock.now(),
      networkMessageId: randomUUID(),
    });
  }

  private emitEdits(messageId: string, edits: readonly HeaderEdit[]): void {
    const at = this.o.clock.now().toISOString();
    for (const e of edits) this.o.trace.emit({ type: 'header', at, node: this.name, messageId, op: e.op, name: e.name, value: e.value, reason: e.reason });
  }

  private acceptFromSession(s: SessionState, from: string, original: Buffer): Acceptance {
    let raw = original;
    let messageId = messageIdOf(raw);
    let addedId: HeaderEdit | undefined;
    if (!messageId) ({ raw, messageId, edit: addedId } = this.addMessageId(raw));
    const headersIn = parseHeaders(raw);
    const queueId = newId();
    const { spec, preset } = this.o.ctx;
    const recipients = [...s.recipients.keys()];
    const received = receivedHeader({
      style: preset.receivedStyle,
      ehlo: s.ehlo,
      clientIp: s.remote.ip,
      byHost: spec.hostname,
      byIp: spec.address,
      tls: { secure: s.tls.secure, protocol: s.tls.protocol, cipher: s.tls.cipher, standardCipher: s.cipher.standardCipher, cipherBits: s.cipher.cipherBits },
      queueId,
      recipient: recipients.length === 1 ? recipients[0] : undefined,
      date: this.o.clock.now(),
    });
    raw = prependHeader(raw, 'Received', received);
    const classification = s.classification;
    const outcome = this.process(messageId, raw, from, recipients, classification, s.remote.ip, s.ehlo);
    const at = this.o.clock.now().toISOString();
    if (outcome.verdict.outcome === 'refuse') return outcome.verdict;
    const plan = planDisposition(this.o.ctx, from, outcome, s.recipients);
    this.o.trace.emit({
      type: 'received',
      at,
      node: this.name,
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
      replies: [`250 2.6.0 ${messageId} Queued mail for delivery`],
      classification: summarize(classification, outcome),
      headersIn,
    });
    if (addedId) this.emitEdits(messageId, [addedId]);
    this.o.trace.emit({ type: 'header', at, node: this.name, messageId, op: 'prepend', name: 'Received', value: received, reason: 'every hop records itself' });
    this.emitEdits(messageId, outcome.edits);
    this.commit(messageId, from, outcome, plan);
    return { ...outcome.verdict, messageId };
  }

  /**
   * Carries a plan out: queue items first (the only step that can still fail, writing the spool,
   * and it fails before any mailbox holds a copy), then mailboxes, then bounces. A DSN that cannot
   * be sent no longer undoes the message: the bounce is traced without one.
   */
  private commit(messageId: string, from: string, outcome: MessageOutcome, plan: Disposition): void {
    const at = this.o.clock.now();
    const when = at.toISOString();
    if (plan.deleted) {
      const { rule, recipients } = plan.deleted;
      this.o.trace.emit({ type: 'deleted', at: when, node: this.name, messageId, recipients, rule, reason: `mail flow rule ${rule} deleted the message silently` });
      return;
    }
    for (const r of plan.retargeted) this.o.trace.emit({ type: 'retargeted', at: when, node: this.name, messageId, recipient: r.rcpt, to: r.to, reason: r.reason });
    for (const { edits, ...relay } of plan.relays) {
      this.queue.enqueue({ id: newId(), messageId, ...relay });
      this.emitEdits(messageId, edits);
    }
    for (const l of plan.local) {
      this.mailboxes.put({ messageId, from, recipient: l.mailbox, raw: outcome.raw, deliveredAt: at, folder: l.folder });
      this.o.trace.emit({ type: 'delivered', at: when, node: this.name, messageId, recipient: l.rcpt, mailbox: l.mailbox, folder: l.folder });
    }
    for (const u of plan.unroutable) {
      let notice: { dsn?: string; noDsn?: string };
      try {
        notice = this.notifySender(messageId, from, outcome.raw, at, [{ recipient: u.rcpt, reply: u.reply, reason: u.reason }]);
      } catch (err) {
        this.logger.error({ err, messageId }, 'the DSN for an unroutable recipient could not be sent');
        notice = { noDsn: `the DSN could not be composed: ${(err as Error).message}` };
      }
      this.o.trace.emit({ type: 'bounced', at: when, node: this.name, messageId, recipients: [u.rcpt], reply: u.reply, reason: u.reason, ...notice });
    }
  }

  /** Header values of what a mailbox received, for quick checks. */
  mailboxHeader(address: string, name: string): string[][] {
    return this.mailboxes.get(address).map((m) => headerValues(m.raw, name));
  }
}

// What the lab needs to break and restart nodes, exported beside the node (index.ts re-exports this file).
export { NodeFaults, type FaultCommand } from './faults';
export { StripStartTlsProxy, stripStartTlsLine } from './proxy';
export { Spool, type SpooledItem, type SpoolProblem } from './spool';
export { sweepTempFiles, writeFileAtomic } from './atomic-files';
export { composeDsn, statusOf } from './dsn';
