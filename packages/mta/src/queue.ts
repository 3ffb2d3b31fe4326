import { formatReply, REPLIES, retryDelay, type Clock, type OutboundRoute, type RetrySchedule } from '@relaylab/core';
import type { Deliverer, RecipientOutcome } from './delivery';
import type { NodeTrace } from './node-trace';
import type { Spool, SpoolProblem } from './spool';

export interface QueueItem {
  id: string;
  messageId: string;
  from: string;
  recipients: string[];
  /**
   * The message. A queue with a spool keeps it only within its body budget; beyond it the item
   * lets go of it once its spool write is on disk, and `bodyOf` reads it back.
   */
  raw?: Buffer;
  /** Bytes of the message, known while the body is on disk only. */
  size: number;
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

/** An item with its message in hand: what is written to the spool, delivered, or returned in a DSN. */
export type LoadedItem = QueueItem & { raw: Buffer };

/**
 * Back pressure, Exchange's "medium" level [lab thresholds]: with this many messages queued, the
 * node's listener holds each MAIL FROM's reply (a tarpit) until the queue is back under three
 * quarters of it, or BACK_PRESSURE_MAX_MS passed, so that a sender faster than the next hop waits
 * instead of piling messages up in the queue (and in memory).
 */
export const BACK_PRESSURE_QUEUE = 2000;
export const BACK_PRESSURE_MAX_MS = 30_000;

/** Bodies a queue keeps in memory by default: the rest wait in the spool (a queue of 40,000 held 500 MB of RSS). */
export const DEFAULT_BODY_BUDGET = 32 * 1024 * 1024;

const BODIES_READ_AT_ONCE = 8;

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
  /** Bytes of queued messages kept in memory (DEFAULT_BODY_BUDGET); only with a spool, which holds the rest. */
  bodyBudget?: number;
  /** Messages queued at which new ones are held back (BACK_PRESSURE_QUEUE). */
  backPressureAt?: number;
  /**
   * The queue gives up on recipients (expired, or refused with 5xx by the next hop): the node
   * sends the DSN and says which, or why none (a DSN is never answered with another DSN).
   */
  onFinalFailure?(item: LoadedItem, failed: FailedRecipient[]): { dsn?: string; noDsn?: string };
  /** The message is still queued at its role's DelayNotificationTimeout: the node sends the delay DSN. */
  onDelayed?(item: LoadedItem): void;
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
  /** Queued items that hold their body in memory, and its bytes (bodies of running attempts are not counted). */
  private readonly holding = new Set<QueueItem>();
  private held = 0;
  /** Spool read-backs running, and those waiting their turn. */
  private reading = 0;
  private readonly readers: Array<() => void> = [];

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

  /** Bytes of message bodies the queued items hold in memory: the body budget, or a little more while spool writes commit. */
  get bodyBytesHeld(): number {
    return this.held;
  }

  /** The item's message: held in memory, or read back from its spool file (rejects, saying why, if it cannot be). */
  async bodyOf(item: QueueItem): Promise<Buffer> {
    if (item.raw) return item.raw;
    if (!this.options.spool) throw new Error(`message ${item.messageId} holds no body and the queue has no spool`);
    // A jump of the lab clock can expire thousands of items at once: their bodies come back a few at a time, not all into memory.
    // A read that ends hands its turn to the next one waiting.
    if (this.reading >= BODIES_READ_AT_ONCE) await new Promise<void>((resolve) => this.readers.push(resolve));
    else this.reading++;
    try {
      return this.checkedBody(item, await this.options.spool.readRaw(item.id));
    } finally {
      const next = this.readers.shift();
      if (next) next();
      else this.reading--;
    }
  }

  /** bodyOf for callers that cannot wait (writing out the queue at shutdown, the web view). */
  bodyOfSync(item: QueueItem): Buffer {
    if (item.raw) return item.raw;
    if (!this.options.spool) throw new Error(`message ${item.messageId} holds no body and the queue has no spool`);
    return this.checkedBody(item, this.options.spool.readRawSync(item.id));
  }

  private checkedBody(item: QueueItem, raw: Buffer): Buffer {
    if (raw.length !== item.size) throw new Error(`spool file ${this.options.spool?.fileOf(item.id)} holds ${raw.length} bytes, the message had ${item.size}`);
    return raw;
  }

  /** Durable before it returns when the node has a spool: the caller may then answer 250. */
  enqueue(item: Omit<QueueItem, 'attempts' | 'nextAttemptAt' | 'enqueuedAt' | 'size' | 'raw'> & { raw: Buffer }): void {
    const now = this.options.clock.now();
    const queued: LoadedItem = { ...item, size: item.raw.length, attempts: 0, enqueuedAt: now, nextAttemptAt: now };
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
      this.add(item, true);
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

  /** `onDisk`: the item's current version is already durable in the spool (restored from it). */
  private add(item: QueueItem, onDisk = false): void {
    this.items.push(item);
    this.queuedByHop.set(item.nextHop, (this.queuedByHop.get(item.nextHop) ?? 0) + 1);
    this.timeoutsAt = Math.min(this.timeoutsAt, this.timeoutOf(item));
    this.holdBody(item, onDisk);
  }

  /**
   * Queued bodies stay in memory up to the budget; beyond it an item lets go of its Buffer once
   * the spool write that holds it is on disk (not before: a crash would lose the message), so
   * memory follows what is in flight, not how deep the queue is. Without a spool the Buffer is
   * the only copy and stays.
   */
  private holdBody(item: QueueItem, onDisk: boolean): void {
    if (!item.raw) return;
    this.holding.add(item);
    this.held += item.raw.length;
    const spool = this.options.spool;
    if (!spool || this.held <= (this.options.bodyBudget ?? DEFAULT_BODY_BUDGET)) return;
    if (onDisk) return this.dropBody(item);
    // A failed write keeps the body: the spool does not hold it.
    spool.committed().then(
      () => this.dropBody(item),
      () => undefined,
    );
  }

  /** Only while the item is queued: an attempt that took it since uses the body. */
  private dropBody(item: QueueItem): void {
    if (!item.raw || !this.holding.delete(item)) return;
    this.held -= item.raw.length;
    delete item.raw;
  }

  private removeAt(index: number): QueueItem {
    const [item] = this.items.splice(index, 1) as [QueueItem];
    if (this.holding.delete(item)) this.held -= item.raw?.length ?? 0;
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
        // Its body is read back first: it leaves the queue meanwhile, so no attempt writes it at the same time.
        if (!item.raw) {
          this.removeAt(i--);
          continue;
        }
      }
      this.timeoutsAt = Math.min(this.timeoutsAt, this.timeoutOf(item));
    }
    for (const { item, expired } of due) {
      if (expired) {
        const bouncing = this.bounceExpired(item, now);
        if (bouncing) this.track(bouncing);
        continue;
      }
      if (item.raw) {
        this.notifyDelayed(item as LoadedItem);
        continue;
      }
      this.track(
        this.bodyOf(item).then(
          (raw) => {
            const loaded = { ...item, raw };
            this.notifyDelayed(loaded);
            this.add(loaded);
          },
          (err: Error) => this.lostBody(item, err, now),
        ),
      );
    }
  }

  /** Written before the notice goes out: a restart must not tell the sender twice. */
  private notifyDelayed(item: LoadedItem): void {
    this.options.spool?.write(item);
    this.options.onDelayed?.(item);
  }

  /** Work on an item out of the queue that is not a delivery (its body being read back): the queue is not idle meanwhile. */
  private track(work: Promise<void>): void {
    this.active++;
    const running: Promise<void> = work.finally(() => {
      this.inFlight.delete(running);
      this.active--;
      this.kick();
    });
    this.inFlight.add(running);
  }

  /**
   * The message could not be read back from its spool file (gone, or damaged and moved to
   * `corrupt/`): it can be neither sent nor returned, so its recipients fail here, with why, and
   * the sender is told (a DSN without the original's headers).
   */
  private lostBody(item: QueueItem, err: Error, at: Date): void {
    const reply = formatReply(REPLIES.spoolUnreadable);
    const reason = `the message could not be read back from the spool: ${err.message}`;
    let notice: { dsn?: string; noDsn?: string } | undefined;
    try {
      notice = this.options.onFinalFailure?.(
        { ...item, raw: Buffer.alloc(0) },
        item.recipients.map((recipient) => ({ recipient, reply, reason })),
      );
    } catch (dsnErr) {
      notice = { noDsn: `the DSN could not be sent: ${(dsnErr as Error).message}` };
    }
    this.options.trace.emit({ type: 'bounced', messageId: item.messageId, recipients: item.recipients, reply, reason, ...notice }, at);
    this.options.spool?.remove(item.id);
  }

  pending(): readonly QueueItem[] {
    return this.items;
  }

  /**
   * Under back pressure, resolves once the queue is back under three quarters of the threshold
   * (or after BACK_PRESSURE_MAX_MS, or when the queue stops); undefined when there is none.
   */
  backPressure(maxMs = BACK_PRESSURE_MAX_MS): Promise<void> | undefined {
    const at = this.options.backPressureAt ?? BACK_PRESSURE_QUEUE;
    if (this.items.length < at) return undefined;
    const started = Date.now();
    return new Promise((resolve) => {
      const check = setInterval(() => {
        if (this.items.length < at * 0.75 || this.stopped || Date.now() - started >= maxMs) {
          clearInterval(check);
          resolve();
        }
      }, 50);
    });
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

  /** A promise when the body must be read back first. */
  private bounceExpired(item: QueueItem, at: Date): Promise<void> | undefined {
    if (item.raw) return this.bounceLoaded(item as LoadedItem, at);
    return this.bodyOf(item).then(
      (raw) => this.bounceLoaded({ ...item, raw }, at),
      (err: Error) => this.lostBody(item, err, at),
    );
  }

  private bounceLoaded(item: LoadedItem, at: Date): undefined {
    const reply = formatReply(REPLIES.queueExpired, item.lastReply ? `LastError: ${item.lastReply}` : undefined);
    const reason = `retried ${item.attempts} times since ${item.enqueuedAt.toISOString()}${item.lastReason ? `; last: ${item.lastReason}` : ''}`;
    const notice = this.options.onFinalFailure?.(
      item,
      item.recipients.map((recipient) => ({ recipient, reply, reason })),
    );
    this.options.trace.emit({ type: 'bounced', messageId: item.messageId, recipients: item.recipients, reply, reason, ...notice }, at);
    this.options.spool?.remove(item.id);
    return undefined;
  }

  /**
   * The next hop answered 250 for these recipients: they leave the spool at once, before anything
   * else runs (the trace, a DSN, the RSET), as Postfix marks each recipient done in its queue file
   * right after the delivery agent's report. A crash between the next hop's commit and this write
   * is the only way a recipient gets a second copy.
   */
  private markSent(item: LoadedItem, sent: readonly string[]): void {
    const done = new Set(sent);
    const owed = item.recipients.filter((r) => !done.has(r));
    if (!owed.length) this.options.spool?.remove(item.id);
    else this.options.spool?.write({ ...item, recipients: owed });
  }

  private expired(item: QueueItem, at: Date): boolean {
    return at.getTime() - item.enqueuedAt.getTime() >= this.options.retry.expiryMs;
  }

  private async attempt(queued: QueueItem): Promise<void> {
    // A message whose lifetime ran out while the clock jumped is not tried again.
    if (queued.attempts > 0 && this.expired(queued, this.options.clock.now())) return this.bounceExpired(queued, this.options.clock.now());
    let raw: Buffer;
    try {
      raw = await this.bodyOf(queued);
    } catch (err) {
      return this.lostBody(queued, err as Error, this.options.clock.now());
    }
    const item: LoadedItem = { ...queued, raw };
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
    const next: LoadedItem = {
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
