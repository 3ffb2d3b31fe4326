import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import type { SMTPServer } from 'smtp-server';
import {
  formatReply,
  headerValues,
  messageIdOf,
  prependHeader,
  receivedHeader,
  routeRecipient,
  summarizeTls,
  type Clock,
  type NodeContext,
  type OutboundRoute,
  type RecipientDecision,
  type Resolver,
  type TraceSink,
  type TrustStore,
} from '@relaylab/core';
import { Deliverer } from './delivery';
import { createListener, type SessionState } from './listener';
import { MailboxStore } from './mailbox';
import { ConnectionPool } from './pool';
import { DeliveryQueue } from './queue';

/** How a node finds the other nodes' ports and names: the lab knows, DNS only gives addresses. */
export interface Directory {
  portOf(ip: string): number;
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
  maxMessageBytes?: number;
}

export interface Submission {
  from: string;
  to: string[];
  raw: Buffer;
}

const newId = () => randomBytes(6).toString('hex').toUpperCase();

/**
 * One simulated mail server: a listener, a queue per next hop, mailboxes. Exchange Online,
 * Exchange Server, Edge, partner and Internet MTAs differ only in the NodeContext they get.
 */
export class MailNode {
  readonly mailboxes = new MailboxStore();
  readonly queue: DeliveryQueue;
  private readonly pool: ConnectionPool;
  private readonly server: SMTPServer;
  private readonly logger: Logger;
  private boundPort = 0;

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
      portOf: (ip) => o.directory.portOf(ip),
    });
    this.queue = new DeliveryQueue(deliverer, {
      node: ctx.name,
      clock: o.clock,
      trace: o.trace,
      retry: ctx.preset.retry,
      maxConnectionsPerHop: 2,
      nodeAt: (ip, port) => o.directory.nodeAt(ip, port),
    });
    this.server = createListener({
      ctx,
      key: o.material.key,
      chainPem: o.material.chainPem,
      trust: o.material.trust,
      clock: o.clock,
      trace: o.trace,
      logger: this.logger,
      maxMessageBytes: o.maxMessageBytes ?? 36 * 1024 * 1024,
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
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.server.once('error', onError);
      this.server.listen(this.o.port, this.o.ctx.spec.address, () => {
        this.server.server.removeListener('error', onError);
        resolve();
      });
    });
    this.boundPort = (this.server.server.address() as AddressInfo).port;
    this.queue.start();
    this.logger.info({ address: this.o.ctx.spec.address, port: this.boundPort }, 'listening');
  }

  async stop(): Promise<void> {
    this.queue.stop();
    this.pool.closeAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  isIdle(): boolean {
    return this.queue.isIdle();
  }

  /** A user of this node sends a message (what Outlook does over MAPI, not an SMTP hop). */
  submit(message: Submission): string {
    let raw = message.raw;
    let messageId = messageIdOf(raw);
    if (!messageId) ({ raw, messageId } = this.addMessageId(raw));
    const at = this.o.clock.now().toISOString();
    this.o.trace.emit({ type: 'submitted', at, node: this.name, messageId, from: message.from, to: message.to });
    const decisions = new Map<string, RecipientDecision>();
    for (const rcpt of message.to) {
      const decision = routeRecipient(this.o.ctx, rcpt, true, `submitted by a user of ${this.o.ctx.spec.hostname}`);
      if (decision.kind === 'refuse') {
        this.o.trace.emit({ type: 'rejected', at, node: this.name, messageId, recipients: [rcpt], reply: formatReply(decision.reply), reason: decision.reason, by: this.name });
        continue;
      }
      decisions.set(rcpt, decision);
    }
    this.dispatch(messageId, message.from, raw, decisions);
    return messageId;
  }

  private addMessageId(raw: Buffer): { raw: Buffer; messageId: string } {
    const messageId = `<${newId()}@${this.o.ctx.spec.hostname}>`;
    this.o.trace.emit({ type: 'header', at: this.o.clock.now().toISOString(), node: this.name, messageId, op: 'prepend', name: 'Message-ID', value: messageId, reason: 'the message had no Message-ID' });
    return { raw: prependHeader(raw, 'Message-ID', messageId), messageId };
  }

  private acceptFromSession(s: SessionState, from: string, original: Buffer): string {
    let raw = original;
    let messageId = messageIdOf(raw);
    if (!messageId) ({ raw, messageId } = this.addMessageId(raw));
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
    const at = this.o.clock.now().toISOString();
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
    });
    this.o.trace.emit({ type: 'header', at, node: this.name, messageId, op: 'prepend', name: 'Received', value: received, reason: 'every hop records itself' });
    this.dispatch(messageId, from, raw, s.decisions);
    return messageId;
  }

  private dispatch(messageId: string, from: string, raw: Buffer, decisions: Map<string, RecipientDecision>): void {
    const at = this.o.clock.now();
    const groups = new Map<string, { route: OutboundRoute; recipients: string[] }>();
    for (const [rcpt, d] of decisions) {
      if (d.kind === 'local') {
        this.mailboxes.put({ messageId, from, recipient: d.mailbox, raw, deliveredAt: at });
        this.o.trace.emit({ type: 'delivered', at: at.toISOString(), node: this.name, messageId, recipient: rcpt, mailbox: d.mailbox });
      } else if (d.kind === 'unroutable') {
        this.o.trace.emit({ type: 'bounced', at: at.toISOString(), node: this.name, messageId, recipients: [rcpt], reply: formatReply(d.reply), reason: d.reason });
      } else if (d.kind === 'relay') {
        const hop = d.route.smartHosts.length ? d.route.smartHosts.join(',') : rcpt.slice(rcpt.lastIndexOf('@') + 1).toLowerCase();
        const key = `${d.route.connector}|${hop}`;
        const group = groups.get(key) ?? { route: d.route, recipients: [] };
        group.recipients.push(rcpt);
        groups.set(key, group);
      }
    }
    for (const [nextHop, g] of groups) {
      this.queue.enqueue({ id: newId(), messageId, from, recipients: g.recipients, raw, route: g.route, nextHop });
    }
  }

  /** Header values of what a mailbox received, for quick checks. */
  mailboxHeader(address: string, name: string): string[][] {
    return this.mailboxes.get(address).map((m) => headerValues(m.raw, name));
  }
}
