import { formatReply, REPLIES, retryDelay, type Clock, type OutboundRoute, type RetrySchedule } from '@relaylab/core';
import type { Deliverer, RecipientOutcome } from './delivery';
import type { NodeTrace } from './node-trace';
import type { Spool, SpoolProblem } from './spool';

export interface QueueItem {
  id: string;
  messageId: string;
  from: string;
  recipients: string[];
  raw: Buffer;
  route: OutboundRoute;
  /** Exchange keeps one queue per next hop; so do we, for concurrency and reuse. */
  nextHop: string;
  enqueuedAt: Date;
  attempts: number;
  nextAttemptAt: Date;
  lastReply?: string;
  lastReason?: string;
  /** The sender was told once that this message is delayed (DelayNotificationTimeout). */
  delayNotified?: boolean;
}

export interface QueueOptions {
  clock: Clock;
  trace: NodeTrace;
  retry: RetrySchedule;
  /** Parallel connections per next hop (Exchange's MaxPerDomainOutboundConnections, scaled down). */
  maxConnectionsPerHop: number;
  /** Maps a refusing address back to a node name for the trace. */
  nodeAt(ip: string, port: number): string | undefined;
  /** Where items are kept durably; without one the queue lives in memory only. */
  spool?: Spool;
  /**
   * The queue gives up on recipients (expired, or refused with 5xx by the next hop): the node
   * sends the DSN and says which, or why none (a DSN is never answered with another DSN).
   */
  onFinalFailure?(item: QueueItem, failed: FailedRecipient[]): { dsn?: string; noDsn?: string };
  /** The message is still queued at its role's DelayNotificationTimeout: the node sends the delay DSN. */
  onDelayed?(item: QueueItem): void;
}

export interface FailedRecipient {
  recipient: string;
  reply: string;
  reason: string;
  /** The host that refused, when one did. */
  remoteMta?: string;
}

/** Messages waiting for their next hop, retried on the lab clock until they expire. */
export class DeliveryQueue {
  private readonly items: QueueItem[] = [];
  /** Queued items per next hop: kick() stops looking once every hop that has some is at its limit. */
  private readonly queuedByHop = new Map<string, number>();
  /**
   * No expiry or delay notice is due before this lab time (a lower bound: an item removed since
   * only makes it early), so kick() need not look at every item for them each time.
   */
  private timeoutsAt = -Infinity;
  private readonly activeByHop = new Map<string, number>();
  private active = 0;
  private paused = false;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly deliverer: Deliverer,
    private readonly options: QueueOptions,
  ) {}

  start(): void {
    // Real-time ticks drive retries in a long-running lab; scenarios move the clock and kick().
    this.timer = setInterval(() => this.kick(), 1000);
    this.timer.unref();
  }

  /** No new attempts; resolves when the attempts already running have finished (and spooled). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.inFlight]);
  }

  /** Durable before it returns when the node has a spool: the caller may then answer 250. */
  enqueue(item: Omit<QueueItem, 'attempts' | 'nextAttemptAt' | 'enqueuedAt'>): void {
    const now = this.options.clock.now();
    const queued: QueueItem = { ...item, attempts: 0, enqueuedAt: now, nextAttemptAt: now };
    this.options.spool?.write(queued);
    this.add(queued);
    this.kick();
  }

  /** Take back what a previous run of this node left in its spool (after a crash or a restart). */
  restore(): { restored: QueueItem[]; problems: SpoolProblem[]; sweptTemps: string[] } {
    if (!this.options.spool) return { restored: [], problems: [], sweptTemps: [] };
    const { items, problems, sweptTemps } = this.options.spool.load();
    const known = new Set(this.items.map((i) => i.id));
    const restored = items.filter((i) => !known.has(i.id));
    const at = this.options.clock.now();
    for (const item of restored) {
      this.add(item);
      this.options.trace.emit({ type: 'restored', messageId: item.messageId, recipients: item.recipients, spoolFile: this.options.spool.fileOf(item.id) }, at);
    }
    return { restored, problems, sweptTemps };
  }

  /** A node that is down neither starts deliveries nor loses what it holds. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.kick();
  }

  /** Nothing is being delivered and nothing is due now (a paused queue can do nothing until resumed). */
  isIdle(): boolean {
    if (this.active > 0) return false;
    const due = this.nextDueAt();
    return due === undefined || due > this.options.clock.now();
  }

  /**
   * Resolves when one of the attempts running now has ended (and the queue kicked again);
   * undefined when none runs. The lab's settle waits on this rather than polling isIdle().
   */
  attemptEnded(): Promise<void> | undefined {
    if (!this.inFlight.size) return undefined;
    return Promise.race([...this.inFlight]).then(
      () => undefined,
      () => undefined,
    );
  }

  /**
   * The earliest lab time this queue has something to do: a retry, an expiry, a delay notice.
   * The lab's scheduler stops the clock there. A paused or stopped queue does nothing until it
   * runs again, so it has nothing due.
   */
  nextDueAt(): Date | undefined {
    if (this.paused || this.stopped) return undefined;
    let earliest: number | undefined;
    for (const item of this.items) {
      for (const t of [item.nextAttemptAt.getTime(), this.expiresAt(item), this.delayNoticeAt(item)]) {
        if (t !== undefined && (earliest === undefined || t < earliest)) earliest = t;
      }
    }
    return earliest === undefined ? undefined : new Date(earliest);
  }

  /** A message is never given up before its first attempt (one restored long after it arrived, say). */
  private expiresAt(item: QueueItem): number | undefined {
    return item.attempts > 0 ? item.enqueuedAt.getTime() + this.options.retry.expiryMs : undefined;
  }

  private delayNoticeAt(item: QueueItem): number | undefined {
    const after = this.options.retry.delayNotificationMs;
    if (after === undefined || item.delayNotified || !this.options.onDelayed) return undefined;
    const at = item.enqueuedAt.getTime() + after;
    return at < item.enqueuedAt.getTime() + this.options.retry.expiryMs ? at : undefined;
  }

  /** The earliest expiry or delay notice of this item still to come. */
  private timeoutOf(item: QueueItem): number {
    return Math.min(this.expiresAt(item) ?? Infinity, this.delayNoticeAt(item) ?? Infinity);
  }

  private add(item: QueueItem): void {
    this.items.push(item);
    this.queuedByHop.set(item.nextHop, (this.queuedByHop.get(item.nextHop) ?? 0) + 1);
    this.timeoutsAt = Math.min(this.timeoutsAt, this.timeoutOf(item));
  }

  private removeAt(index: number): QueueItem {
    const [item] = this.items.splice(index, 1) as [QueueItem];
    const left = (this.queuedByHop.get(item.nextHop) ?? 1) - 1;
    if (left > 0) this.queuedByHop.set(item.nextHop, left);
    else this.queuedByHop.delete(item.nextHop);
    return item;
  }

  /** Expiries and delay notices that are due: each happens at its own moment, whether or not a retry is. */
  private timeouts(now: Date): void {
    if (now.getTime() < this.timeoutsAt) return;
    // Taken before the callbacks run: an item they add lowers it again.
    this.timeoutsAt = Infinity;
    const due: Array<{ item: QueueItem; expired: boolean }> = [];
    for (let i = 0; i < this.items.length; i++) {
      const item = this.items[i]!;
      const expiresAt = this.expiresAt(item);
      if (expiresAt !== undefined && expiresAt <= now.getTime()) {
        this.removeAt(i--);
        due.push({ item, expired: true });
        continue;
      }
      const noticeAt = this.delayNoticeAt(item);
      if (noticeAt !== undefined && noticeAt <= now.getTime()) {
        item.delayNotified = true;
        due.push({ item, expired: false });
      }
      this.timeoutsAt = Math.min(this.timeoutsAt, this.timeoutOf(item));
    }
    for (const { item, expired } of due) {
      if (expired) {
        this.bounceExpired(item, now);
        continue;
      }
      // Written before the notice goes out: a restart must not tell the sender twice.
      this.options.spool?.write(item);
      this.options.onDelayed?.(item);
    }
  }

  pending(): readonly QueueItem[] {
    return this.items;
  }

  kick(): void {
    if (this.paused || this.stopped) return;
    const now = this.options.clock.now();
    this.timeouts(now);
    const max = this.options.maxConnectionsPerHop;
    // Hops with queued items and a free connection: none left, nothing more can start this time.
    let open = 0;
    for (const hop of this.queuedByHop.keys()) if ((this.activeByHop.get(hop) ?? 0) < max) open++;
    const starting: QueueItem[] = [];
    for (let i = 0; open > 0 && i < this.items.length; i++) {
      const item = this.items[i]!;
      if (item.nextAttemptAt > now) continue;
      const busy = this.activeByHop.get(item.nextHop) ?? 0;
      if (busy >= max) continue;
      this.removeAt(i--);
      if (busy + 1 >= max || !this.queuedByHop.has(item.nextHop)) open--;
      this.activeByHop.set(item.nextHop, busy + 1);
      this.active++;
      starting.push(item);
    }
    // Started once the scan is over: an attempt that bounces at once (a DSN enqueued, a nested kick) finds the queue whole.
    for (const item of starting) {
      const running: Promise<void> = this.attempt(item).finally(() => {
        this.inFlight.delete(running);
        this.activeByHop.set(item.nextHop, (this.activeByHop.get(item.nextHop) ?? 1) - 1);
        this.active--;
        this.kick();
      });
      this.inFlight.add(running);
    }
  }

  private bounceExpired(item: QueueItem, at: Date): void {
    const reply = formatReply(REPLIES.queueExpired, item.lastReply ? `LastError: ${item.lastReply}` : undefined);
    const reason = `retried ${item.attempts} times since ${item.enqueuedAt.toISOString()}${item.lastReason ? `; last: ${item.lastReason}` : ''}`;
    const notice = this.options.onFinalFailure?.(
      item,
      item.recipients.map((recipient) => ({ recipient, reply, reason })),
    );
    this.options.trace.emit({ type: 'bounced', messageId: item.messageId, recipients: item.recipients, reply, reason, ...notice }, at);
    this.options.spool?.remove(item.id);
  }

  /**
   * The next hop answered 250 for these recipients: they leave the spool at once, before anything
   * else runs (the trace, a DSN, the RSET), as Postfix marks each recipient done in its queue file
   * right after the delivery agent's report. A crash between the next hop's commit and this write
   * is the only way a recipient gets a second copy.
   */
  private markSent(item: QueueItem, sent: readonly string[]): void {
    const done = new Set(sent);
    const owed = item.recipients.filter((r) => !done.has(r));
    if (!owed.length) this.options.spool?.remove(item.id);
    else this.options.spool?.write({ ...item, recipients: owed });
  }

  private expired(item: QueueItem, at: Date): boolean {
    return at.getTime() - item.enqueuedAt.getTime() >= this.options.retry.expiryMs;
  }

  private async attempt(item: QueueItem): Promise<void> {
    // A message whose lifetime ran out while the clock jumped is not tried again.
    if (item.attempts > 0 && this.expired(item, this.options.clock.now())) return this.bounceExpired(item, this.options.clock.now());
    let outcomes: RecipientOutcome[];
    try {
      outcomes = await this.deliverer.deliver({
        messageId: item.messageId,
        from: item.from,
        recipients: item.recipients,
        raw: item.raw,
        route: item.route,
        onSent: (sent) => this.markSent(item, sent),
      });
    } catch (err) {
      outcomes = item.recipients.map((recipient) => ({
        recipient,
        kind: 'deferred',
        reply: formatReply(REPLIES.cannotConnect),
        reason: `delivery failed: ${(err as Error).message}`,
      }));
    }
    const at = this.options.clock.now();
    const deferred = outcomes.filter((o) => o.kind === 'deferred');
    const rejected = outcomes.filter((o) => o.kind === 'refused') as Array<Exclude<RecipientOutcome, { kind: 'sent' }>>;
    // One DSN for every recipient the next hop refused outright, as Exchange sends one NDR per message.
    const notice = rejected.length
      ? this.options.onFinalFailure?.(
          item,
          rejected.map((o) => ({ recipient: o.recipient, reply: o.reply, reason: o.reason, remoteMta: o.by?.host ?? o.by?.ip })),
        )
      : undefined;
    for (const o of rejected) {
      this.options.trace.emit(
        {
          type: 'rejected',
          messageId: item.messageId,
          recipients: [o.recipient],
          reply: o.reply,
          reason: o.reason,
          by: o.by && this.options.nodeAt(o.by.ip, o.by.port),
          ...notice,
        },
        at,
      );
    }
    if (!deferred.length) {
      this.options.spool?.remove(item.id);
      return;
    }
    const first = deferred[0] as { reply: string; reason: string };
    const next: QueueItem = {
      ...item,
      recipients: deferred.map((o) => o.recipient),
      attempts: item.attempts + 1,
      lastReply: first.reply,
      lastReason: first.reason,
      nextAttemptAt: new Date(at.getTime() + retryDelay(this.options.retry, item.attempts + 1)),
    };
    if (this.expired(next, at)) return this.bounceExpired(next, at);
    this.options.trace.emit(
      {
        type: 'deferred',
        messageId: item.messageId,
        recipients: next.recipients,
        reply: first.reply,
        reason: first.reason,
        nextAttempt: next.nextAttemptAt.toISOString(),
      },
      at,
    );
    // Only the recipients still owed are kept: a restart must not send twice to those already done.
    this.options.spool?.write(next);
    this.add(next);
  }
}
