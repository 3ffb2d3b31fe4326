import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import type { SMTPServer } from 'smtp-server';
import {
  addressRewrite,
  applyEdits,
  classifySubmission,
  domainOf,
  folderFor,
  outboundEdits,
  outboundRoutes,
  parseHeaders,
  processMessage,
  formatReply,
  headerValues,
  messageIdOf,
  prependHeader,
  receivedHeader,
  routeRecipient,
  summarizeTls,
  type Classification,
  type ClassificationSummary,
  type Clock,
  type HeaderEdit,
  type MessageOutcome,
  type NodeContext,
  type OutboundRoute,
  type RecipientDecision,
  type Resolver,
  type SmtpReply,
  type TraceSink,
  type TrustStore,
} from '@relaylab/core';
import { Deliverer } from './delivery';
import { composeDsn } from './dsn';
import { NodeFaults } from './faults';
import { createListener, type SessionState } from './listener';
import { MailboxStore } from './mailbox';
import { ConnectionPool } from './pool';
import { DeliveryQueue, type FailedRecipient, type QueueItem } from './queue';
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

/** What one accepted message becomes on this node (see MailNode.plan). */
interface Disposition {
  deleted?: { rule: string; recipients: string[] };
  local: Array<{ rcpt: string; mailbox: string; folder: string }>;
  unroutable: Array<{ rcpt: string; reply: string; reason: string }>;
  retargeted: Array<{ rcpt: string; to: string; reason: string }>;
  relays: Array<{ edits: HeaderEdit[]; item: Omit<QueueItem, 'attempts' | 'nextAttemptAt' | 'enqueuedAt'> }>;
}

const newId = () => randomBytes(6).toString('hex').toUpperCase();

/** A mail flow rule refused the message: the listener answers DATA with the rule's reply. */
export class RuleRejection extends Error {
  constructor(readonly reply: SmtpReply) {
    super(`${reply.enhanced} ${reply.text}`);
  }
}

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
    const decisions = new Map<string, RecipientDecision>();
    const refused: Array<{ rcpt: string; reply: string; reason: string }> = [];
    for (const rcpt of message.to) {
      const decision = routeRecipient(this.o.ctx, rcpt, true, `submitted by a user of ${this.o.ctx.spec.hostname}`, 'submission');
      if (decision.kind === 'refuse') refused.push({ rcpt, reply: formatReply(decision.reply), reason: decision.reason });
      else decisions.set(rcpt, decision);
    }
    const outcome = this.process(messageId, raw, message.from, [...decisions.keys()], classification, undefined, undefined);
    this.o.trace.emit({ type: 'submitted', at, node: this.name, messageId, from: message.from, to: message.to, classification: summarize(classification, outcome), headersIn: parseHeaders(raw) });
    const refusedNotice = refused.length ? this.notifySender(messageId, message.from, raw, this.o.clock.now(), refused.map((r) => ({ recipient: r.rcpt, reply: r.reply, reason: r.reason }))) : undefined;
    for (const r of refused) {
      this.o.trace.emit({ type: 'rejected', at, node: this.name, messageId, recipients: [r.rcpt], reply: r.reply, reason: r.reason, by: this.name, ...refusedNotice });
    }
    this.emitEdits(messageId, outcome.edits);
    if (outcome.action.kind === 'reject') {
      this.o.trace.emit({ type: 'rejected', at, node: this.name, messageId, recipients: [...decisions.keys()], reply: formatReply(outcome.action.reply), reason: `mail flow rule ${outcome.action.rule} rejected the message`, by: this.name });
      return messageId;
    }
    this.finish(messageId, message.from, outcome, decisions);
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

  private acceptFromSession(s: SessionState, from: string, original: Buffer): string {
    let raw = original;
    let messageId = messageIdOf(raw);
    let addedId: HeaderEdit | undefined;
    if (!messageId) ({ raw, messageId, edit: addedId } = this.addMessageId(raw));
    const headersIn = parseHeaders(raw);
    const queueId = newId();
    const { spec, preset } = this.o.ctx;
    const recipients = [...s.decisions.keys()];
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
    if (outcome.action.kind === 'reject') {
      const { reply, rule } = outcome.action;
      this.o.trace.emit({ type: 'refused', at, node: this.name, sessionId: s.id, command: 'DATA', from, remote: s.remote, reply: formatReply(reply), reason: `mail flow rule ${rule} rejected the message` });
      throw new RuleRejection(reply);
    }
    const plan = this.plan(messageId, from, outcome, s.decisions);
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
    return messageId;
  }

  /** Deleted by a rule, or routed: local mailboxes, connectors (a rule may pick one), or a bounce. */
  private finish(messageId: string, from: string, outcome: MessageOutcome, decisions: Map<string, RecipientDecision>): void {
    this.commit(messageId, from, outcome, this.plan(messageId, from, outcome, decisions));
  }

  /**
   * Everything the message becomes on this node, worked out before any of it happens: whatever
   * can fail (header edits on each copy) fails here, while nothing is delivered or queued yet, so
   * the client's retry after a 451 cannot leave a second copy anywhere.
   */
  private plan(messageId: string, from: string, outcome: MessageOutcome, decisions: Map<string, RecipientDecision>): Disposition {
    const plan: Disposition = { local: [], unroutable: [], retargeted: [], relays: [] };
    if (outcome.action.kind === 'delete') return { ...plan, deleted: { rule: outcome.action.rule, recipients: [...decisions.keys()] } };
    const ruleRoute = outcome.rules.route ? this.ruleScopedRoute(outcome.rules.route.connector) : undefined;
    const groups = new Map<string, { route: OutboundRoute; recipients: string[] }>();
    for (const [rcpt, d0] of decisions) {
      let d = d0;
      if (ruleRoute && d.kind === 'relay' && !this.o.ctx.acceptedDomains.includes(domainOf(rcpt))) {
        d = { ...d, route: ruleRoute, reason: `mail flow rule ${outcome.rules.route!.rule} routes through ${ruleRoute.connector}` };
      }
      if (d.kind === 'local') {
        plan.local.push({ rcpt, mailbox: d.mailbox, folder: this.o.ctx.preset.exchange ? folderFor(outcome.scl) : 'Inbox' });
      } else if (d.kind === 'unroutable') {
        plan.unroutable.push({ rcpt, reply: formatReply(d.reply), reason: d.reason });
      } else if (d.kind === 'relay') {
        const next = d.retarget ?? rcpt;
        if (d.retarget) plan.retargeted.push({ rcpt, to: d.retarget, reason: d.reason });
        const hop = d.route.smartHosts.length ? d.route.smartHosts.join(',') : domainOf(next);
        const key = `${d.route.connector}|${hop}`;
        const group = groups.get(key) ?? { route: d.route, recipients: [] };
        group.recipients.push(next);
        groups.set(key, group);
      }
    }
    for (const [nextHop, g] of groups) {
      const edits = outboundEdits(this.o.ctx, g.route, outcome.raw);
      let sender = from;
      if (g.recipients.every((r) => !this.o.ctx.acceptedDomains.includes(domainOf(r)))) {
        const rewritten = addressRewrite(this.o.ctx, from, outcome.raw);
        sender = rewritten.from;
        edits.push(...rewritten.edits);
      }
      plan.relays.push({ edits, item: { id: newId(), messageId, from: sender, recipients: g.recipients, raw: applyEdits(outcome.raw, edits), route: g.route, nextHop } });
    }
    return plan;
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
    for (const { edits, item } of plan.relays) {
      this.queue.enqueue(item);
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

  private ruleScopedRoute(name: string): OutboundRoute | undefined {
    const c = (this.o.ctx.spec.outboundConnectors ?? []).find((x) => x.Name === name);
    return c ? outboundRoutes({ ...this.o.ctx.spec, outboundConnectors: [{ ...c, IsTransportRuleScoped: false }], sendConnectors: [] }, this.o.ctx.acceptedDomains)[0] : undefined;
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
