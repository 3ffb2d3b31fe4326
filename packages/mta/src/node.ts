import type { AddressInfo, Socket } from 'node:net';
import pino, { type Logger } from 'pino';
import type { SMTPServer } from 'smtp-server';
import { formatReply, headerValues, REPLIES, type Clock, type NodeContext, type Resolver, type TraceSink, type TrustStore } from '@relaylab/core';
import { NodeFaults } from './faults';
import { MessageIntake, type Submission } from './intake';
import { createListener, type ListenerTimeouts } from './listener';
import { MailboxStore } from './mailbox';
import { NodeTrace } from './node-trace';
import { createOutbound } from './outbound';
import type { ConnectionPool } from './pool';
import type { DeliveryQueue } from './queue';
import type { Spool } from './spool';

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
  /** Bytes of queued messages kept in memory when there is a spool (the queue's DEFAULT_BODY_BUDGET); the rest are read back from it. */
  bodyBudget?: number;
  /** Messages queued at which MAIL FROM is held back (BACK_PRESSURE_QUEUE). */
  backPressureAt?: number;
  /** Real-time limits of the listener; a client that stays silent longer is cut off with 421. */
  timeouts?: ListenerTimeouts;
}

/**
 * One simulated mail server: a listener, a queue per next hop, mailboxes. Exchange Online,
 * Exchange Server, Edge, partner and Internet MTAs differ only in the NodeContext they get.
 * The node wires the parts and runs their lifecycle; what it decides is core's, how a message is
 * taken in is MessageIntake's, how it leaves is the outbound queue's.
 */
export class MailNode {
  readonly mailboxes = new MailboxStore();
  readonly queue: DeliveryQueue;
  /** Faults a scenario switched on for this node's listener. */
  readonly faults = new NodeFaults();
  /**
   * Spool files the last start found broken and moved to `corrupt/`: one line each, for the
   * command that started the node to show even when its logs are off.
   */
  spoolWarnings: string[] = [];
  private down = false;
  private boundPort = 0;
  private readonly pool: ConnectionPool;
  /** Group-committed: a 250 waits for `durable()`, stop and isIdle for what is still being written. */
  private readonly spool?: Spool;
  private readonly server: SMTPServer;
  private readonly logger: Logger;
  private readonly intake: MessageIntake;
  /**
   * Open client connections, so taking the host down can cut them. Held weakly: the plain socket a STARTTLS session began
   * on never emits 'close' (the TLS socket took its handle), so a strong set kept every TLS session.
   */
  private readonly sockets = new Set<WeakRef<Socket>>();

  constructor(private readonly options: MailNodeOptions) {
    const { ctx, material, clock, directory } = options;
    this.logger = (options.logger ?? pino({ level: 'silent' })).child({ node: ctx.name, role: ctx.spec.role });
    const trace = new NodeTrace(ctx.name, clock, options.trace);
    ({
      queue: this.queue,
      pool: this.pool,
      spool: this.spool,
    } = createOutbound({
      ctx,
      key: material.key,
      chainPem: material.chainPem,
      trust: material.trust,
      resolver: options.resolver,
      clock,
      trace,
      portOf: (ip, host) => directory.portOf(ip, host),
      nodeAt: (ip, port) => directory.nodeAt(ip, port),
      maxMessagesPerConnection: options.maxMessagesPerConnection ?? 100,
      spoolDir: options.spoolDir,
      bodyBudget: options.bodyBudget,
      backPressureAt: options.backPressureAt,
      onFinalFailure: (item, failed) =>
        this.intake.notifySender({ messageId: item.messageId, from: item.from, raw: item.raw, arrived: item.enqueuedAt, failed }),
      onDelayed: (item) => {
        const reply = item.lastReply ?? formatReply(REPLIES.cannotConnect);
        try {
          this.intake.notifySender({
            messageId: item.messageId,
            from: item.from,
            raw: item.raw,
            arrived: item.enqueuedAt,
            failed: item.recipients.map((recipient) => ({ recipient, reply, reason: item.lastReason ?? 'still queued' })),
            delayed: { willRetryUntil: new Date(item.enqueuedAt.getTime() + ctx.preset.retry.expiryMs) },
          });
        } catch (err) {
          // A notice that cannot be sent must not stop the queue: the message itself is still owed.
          this.logger.error({ err, messageId: item.messageId }, 'the delay DSN could not be sent');
        }
      },
    }));
    this.intake = new MessageIntake({ ctx, clock, trace, logger: this.logger, queue: this.queue, mailboxes: this.mailboxes });
    this.server = createListener({
      ctx,
      key: material.key,
      chainPem: material.chainPem,
      trust: material.trust,
      clock,
      trace,
      logger: this.logger,
      timeouts: options.timeouts ?? {},
      faults: this.faults,
      listenPort: () => this.boundPort,
      backPressure: () => this.queue.backPressure(),
      accept: (session, from, raw) => {
        const before = this.spool?.changes;
        const delivered = this.mailboxes.delivered;
        const taken = this.intake.fromSession(session, from, raw);
        if (taken.outcome !== 'accept') return taken;
        // A message that went to the spool waits for it, one delivered here for its mailbox file
        // when the mailboxes are kept on disk; one held in memory only is answered at once.
        const waits = [this.spool && this.spool.changes !== before && this.spool.committed(), this.mailboxes.delivered !== delivered && this.mailboxes.kept];
        const durable = waits.filter((w): w is Promise<void> => w instanceof Promise);
        return durable.length ? { ...taken, durable: durable.length === 1 ? durable[0] : Promise.all(durable).then(() => undefined) } : taken;
      },
    });
    this.server.server.on('connection', (socket: Socket) => {
      for (const ref of this.sockets) if (!ref.deref()) this.sockets.delete(ref);
      const ref = new WeakRef(socket);
      this.sockets.add(ref);
      socket.once('close', () => this.sockets.delete(ref));
    });
  }

  get name(): string {
    return this.options.ctx.name;
  }

  get port(): number {
    return this.boundPort;
  }

  get isDown(): boolean {
    return this.down;
  }

  async start(): Promise<void> {
    const { restored, problems, sweptTemps } = this.queue.restore();
    if (restored.length) this.logger.info({ items: restored.length }, 'took back what the spool held');
    if (sweptTemps.length) this.logger.info({ files: sweptTemps }, 'removed temp files of spool writes a crash cut short');
    this.spoolWarnings = problems.map((p) => `spool file ${p.file} is not a valid queue item (${p.reason}); moved to ${p.movedTo}, not delivered`);
    for (const p of problems)
      this.logger.warn({ file: p.file, movedTo: p.movedTo, problem: p.reason }, 'spool file is not a valid queue item; moved aside, not delivered');
    await this.listen(this.options.port);
    this.boundPort = (this.server.server.address() as AddressInfo).port;
    this.queue.start();
    this.queue.kick();
    this.logger.info({ address: this.options.ctx.spec.address, port: this.boundPort }, 'listening');
  }

  private listen(port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.server.once('error', onError);
      this.server.listen(port, this.options.ctx.spec.address, () => {
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
    for (const ref of this.sockets) ref.deref()?.destroy();
    await closed;
  }

  /** Back on the same address and port, with what it held. */
  async bringUp(): Promise<void> {
    if (!this.down) return;
    await this.listen(this.boundPort);
    this.down = false;
    this.pool.reopen();
    this.queue.resume();
  }

  async stop(): Promise<void> {
    const draining = this.queue.stop();
    this.pool.closeAll();
    await draining;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.spool?.flush().catch((err: unknown) => this.logger.error({ err }, 'writing the spool failed'));
  }

  isIdle(): boolean {
    return this.queue.isIdle() && (this.spool?.isIdle() ?? true);
  }

  /**
   * Resolves the next time this node may have gone idle: an attempt running now ended, or the
   * spool wrote what it was asked. Undefined when neither is under way (nothing here to wait for).
   */
  busyEnds(): Promise<void> | undefined {
    const waits: Array<Promise<void>> = [];
    const attempt = this.queue.attemptEnded();
    if (attempt) waits.push(attempt);
    if (this.spool && !this.spool.isIdle()) waits.push(this.spool.durable().catch(() => undefined));
    return waits.length ? Promise.race(waits) : undefined;
  }

  /** A user of this node sends a message (what Outlook does over MAPI, not an SMTP hop). */
  submit(message: Submission): string {
    return this.intake.submit(message);
  }

  /** Header values of what a mailbox received, for quick checks. */
  mailboxHeader(address: string, name: string): string[][] {
    return this.mailboxes.get(address).map((m) => headerValues(m.raw, name));
  }
}
