import { rfc5322Date, type TraceEvent } from '@relaylab/core';
import { fateOf, type Fate, type FaultRequest, type Lab } from '@relaylab/lab';
import type { MailNode, StoredMessage } from '@relaylab/mta';

/** A message waiting in a node's queue for its next hop (as the queue keeps it). */
export type QueueItem = ReturnType<MailNode['queue']['pending']>[number];

/**
 * The one place the web API reads a running lab: its trace (events so far, and each new one as it
 * happens), its nodes' mailboxes and queues, and the actions a person may take. Everything else in
 * web/ works from what this returns, so a change in how the lab keeps its trace or schedules its
 * queues is met here only.
 */
export interface TraceSource {
  readonly events: readonly TraceEvent[];
  subscribe(listener: (e: TraceEvent, index: number) => void): () => void;
}

export type Health = 'up' | 'down' | 'faulted';

/** Faults that leave a node listening but misbehaving until healed. */
const LASTING_FAULTS = new Set(['fail', 'dropDuringData', 'tlsHandshakeFails', 'slow', 'stripStartTls']);

/** Exchange's folder names: every mailbox shows both, even empty. */
export const FOLDERS = ['Inbox', 'Junk Email'] as const;

export interface MessageSummary {
  messageId: string;
  from: string;
  to: string[];
  subject?: string;
  firstSeen: string;
  firstNode: string;
  /** Where the message is now, in words: per recipient its final state, or the queue holding it. */
  now: string;
  /** Per recipient: relaylab's final state, and the status Get-MessageTrace would give (docs/exchange.md, "Message tracking and queues"). */
  states: Array<{ recipient: string; state: Fate['state']; node?: string; messageTraceStatus: MessageTraceStatus }>;
}

export type MessageTraceStatus = 'Delivered' | 'FilteredAsSpam' | 'Failed' | 'Pending' | 'None';

/** Exchange Online's message trace status for a fate: Junk Email is FilteredAsSpam, a rule's delete None. */
function messageTraceStatus(f: Fate): MessageTraceStatus {
  switch (f.state) {
    case 'delivered':
      return f.folder === 'Junk Email' ? 'FilteredAsSpam' : 'Delivered';
    case 'handedOff':
      // accepted by a server outside the lab's Exchange: the trace ends there as Delivered
      return 'Delivered';
    case 'rejected':
    case 'bounced':
      return 'Failed';
    case 'deleted':
      return 'None';
    default:
      return 'Pending';
  }
}

interface Indexed {
  messageId: string;
  first: number;
  events: number[];
}

const subjectOf = (e: TraceEvent): string | undefined =>
  e.type === 'submitted' || e.type === 'received' ? e.headersIn.find((h) => h.name.toLowerCase() === 'subject')?.value : undefined;

/** Messages the view lists by default: a lab kept up for days keeps only the latest ones (their events stay in the trace). */
export const VIEW_MESSAGES = 20_000;

export class LabView {
  private readonly byId = new Map<string, Indexed>();
  /** Message-IDs in the order the lab first saw them, the latest `keep` of them. */
  private readonly order: string[] = [];
  private readonly unsubscribe: () => void;
  /** Nodes with a lasting fault switched on and not healed since, from the trace's fault events. */
  private readonly faulted = new Set<string>();

  /** `keep`: how many messages (the latest) the view lists; older ones leave it, never the trace. */
  constructor(
    readonly lab: Lab,
    private readonly trace: TraceSource,
    private readonly keep = VIEW_MESSAGES,
  ) {
    this.trace.events.forEach((e, i) => this.index(e, i));
    this.unsubscribe = this.trace.subscribe((e, i) => this.index(e, i));
  }

  close(): void {
    this.unsubscribe();
  }

  private index(e: TraceEvent, i: number): void {
    if (e.type === 'fault' && e.sessionId === undefined) {
      if (e.fault === 'heal') this.faulted.delete(e.node);
      else if (LASTING_FAULTS.has(e.fault)) this.faulted.add(e.node);
    }
    if (!('messageId' in e)) return;
    let entry = this.byId.get(e.messageId);
    if (!entry) {
      // a message becomes a row once a node took it in; an attempt or fault alone is not one
      if (e.type !== 'submitted' && e.type !== 'received' && e.type !== 'restored') return;
      entry = { messageId: e.messageId, first: i, events: [] };
      this.byId.set(e.messageId, entry);
      this.order.push(e.messageId);
      // Per message the view holds its events' numbers: without a bound, memory grew with every message.
      if (this.order.length > this.keep) this.byId.delete(this.order.shift()!);
    }
    entry.events.push(i);
  }

  subscribe(listener: (e: TraceEvent, index: number) => void): () => void {
    return this.trace.subscribe(listener);
  }

  get eventCount(): number {
    return this.trace.events.length;
  }

  now(): Date {
    return this.lab.clock.now();
  }

  get topology() {
    return this.lab.topology;
  }

  health(node: string): Health {
    if (this.lab.node(node).isDown) return 'down';
    return this.faulted.has(node) ? 'faulted' : 'up';
  }

  nodePort(node: string): number {
    return this.lab.node(node).port;
  }

  nodeNames(): string[] {
    return [...this.lab.nodes.keys()];
  }

  hasNode(node: string): boolean {
    return this.lab.nodes.has(node);
  }

  messageCount(): number {
    return this.order.length;
  }

  /** Newest first: what a person watching wants at the top. */
  messageIds(offset: number, limit: number): string[] {
    const end = this.order.length - offset;
    return end <= 0 ? [] : this.order.slice(Math.max(0, end - limit), end).reverse();
  }

  events(messageId: string): TraceEvent[] {
    const entry = this.byId.get(messageId);
    return entry ? entry.events.map((i) => this.trace.events[i]!) : [];
  }

  has(messageId: string): boolean {
    return this.byId.has(messageId);
  }

  /** Sender, recipients and subject as the first node took the message in. */
  envelope(messageId: string): { from: string; to: string[]; subject?: string; at: string; node: string } | undefined {
    const entry = this.byId.get(messageId);
    const e = entry && this.trace.events[entry.first];
    if (!e) return undefined;
    if (e.type === 'submitted' || e.type === 'received') return { from: e.from, to: e.to, subject: subjectOf(e), at: e.at, node: e.node };
    if (e.type === 'restored') return { from: '', to: e.recipients, at: e.at, node: e.node };
    return undefined;
  }

  fates(messageId: string): Array<{ recipient: string; fate: Fate }> {
    const env = this.envelope(messageId);
    const events = this.events(messageId);
    return (env?.to ?? []).map((recipient) => ({ recipient, fate: fateOf(events, messageId, recipient, (ip, port) => this.lab.nodeAt(ip, port)) }));
  }

  /** Queue items of this message, at whichever node holds them now. */
  queued(messageId: string): Array<{ node: string; item: QueueItem }> {
    return [...this.lab.nodes.values()].flatMap((n) =>
      n.queue
        .pending()
        .filter((i) => i.messageId === messageId)
        .map((item) => ({ node: n.name, item })),
    );
  }

  summary(messageId: string): MessageSummary | undefined {
    const env = this.envelope(messageId);
    if (!env) return undefined;
    const fates = this.fates(messageId);
    const queued = this.queued(messageId);
    const states = fates.map(({ recipient, fate }) => ({ recipient, state: fate.state, node: fate.node, messageTraceStatus: messageTraceStatus(fate) }));
    const where = fates.map(({ recipient, fate }) => {
      const q = queued.find((x) => x.item.recipients.some((r) => fate.addresses.includes(r.toLowerCase())));
      if (q && fate.state !== 'delivered') return `${recipient}: queued at ${q.node} for ${q.item.nextHop}`;
      if (fate.state === 'delivered') return `${recipient}: in ${fate.mailbox} (${fate.folder ?? 'Inbox'}) at ${fate.node}`;
      if (fate.state === 'unaccounted') return `${recipient}: in transit (last at ${fate.path[fate.path.length - 1] ?? env.node})`;
      return `${recipient}: ${fate.state} at ${fate.node ?? '?'}`;
    });
    return { messageId, from: env.from, to: env.to, subject: env.subject, firstSeen: env.at, firstNode: env.node, now: where.join('; '), states };
  }

  /** The bytes of this message a mailbox holds, else a queue: the copy as the lab has it now. */
  raw(messageId: string): { raw: Buffer; where: string } | undefined {
    for (const n of this.lab.nodes.values()) {
      const stored = n.mailboxes.all().find((m) => m.messageId === messageId);
      if (stored) return { raw: stored.raw, where: `mailbox ${stored.recipient} at ${n.name}` };
    }
    const q = this.queued(messageId)[0];
    if (!q) return undefined;
    // A body the queue let go of in memory is read back from the node's spool.
    const queue = this.lab.node(q.node).queue;
    const raw = q.item.raw ?? ('bodyOfSync' in queue ? queue.bodyOfSync(q.item) : undefined);
    return raw && { raw, where: `queue ${q.item.nextHop} at ${q.node}` };
  }

  mailboxes(node: string): Array<{ address: string; folders: Array<{ name: string; messages: StoredMessage[] }> }> {
    const n = this.lab.node(node);
    const spec = this.lab.topology.nodes[node];
    const addresses = new Set((spec?.mailboxes ?? []).map((a) => a.toLowerCase()));
    for (const m of n.mailboxes.all()) addresses.add(m.recipient.toLowerCase());
    return [...addresses].map((address) => {
      const all = n.mailboxes.get(address);
      const names = [...new Set([...FOLDERS, ...all.map((m) => m.folder)])];
      return { address, folders: names.map((name) => ({ name, messages: all.filter((m) => m.folder === name) })) };
    });
  }

  queueItems(node: string): readonly QueueItem[] {
    return this.lab.node(node).queue.pending();
  }

  /** Every event so far with its place in the trace, oldest first. */
  allEvents(): Array<{ event: TraceEvent; index: number }> {
    return this.trace.events.map((event, index) => ({ event, index }));
  }

  // ---- actions ----

  /** A user of `node` sends a plain text message, as Outlook would submit it. */
  send(node: string, m: { from: string; to: string[]; subject: string; body: string }): string {
    const raw = Buffer.from(
      [
        `From: ${m.from}`,
        `To: ${m.to.join(', ')}`,
        `Subject: ${m.subject}`,
        `Date: ${rfc5322Date(this.now())}`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        '',
        m.body.replace(/\r?\n/g, '\r\n'),
        '',
      ].join('\r\n'),
      'utf8',
    );
    return this.lab.submit(node, { from: m.from, to: m.to, raw });
  }

  down(node: string): Promise<void> {
    return this.lab.down(node);
  }

  up(node: string): Promise<void> {
    return this.lab.up(node);
  }

  /** Moves the lab clock; resolves when the lab has done what became due (as the lab's advance does). */
  async advance(ms: number): Promise<void> {
    await this.lab.advance(Math.round(ms));
  }

  /** A listener fault, as a scenario step or the node control API switches it (recorded in the trace). */
  async fault(node: string, f: FaultRequest): Promise<void> {
    switch (f.fault) {
      case 'fail':
        return void (await this.lab.failCommand(node, f.command, f.reply, f.times));
      case 'dropDuringData':
        return void (await this.lab.dropDuringData(node, f.times));
      case 'tlsHandshakeFails':
        return void (await this.lab.tlsHandshakeFails(node, f.times));
      case 'slow':
        return void (await this.lab.slow(node, f.delayMs));
      case 'heal':
        return void (await this.lab.heal(node));
    }
  }

  /**
   * Retry-Queue: what waits for `nextHop` (every queue of the node when none is named) is due now,
   * and the node tries it at once. The items' retry time is moved, not the lab clock, so other
   * queues keep their schedule. Returns how many messages were made due.
   */
  retry(node: string, nextHop?: string): number {
    const n = this.lab.node(node);
    const now = this.now();
    let count = 0;
    for (const item of n.queue.pending()) {
      if (nextHop !== undefined && item.nextHop !== nextHop) continue;
      if (item.nextAttemptAt > now) item.nextAttemptAt = now;
      count++;
    }
    n.queue.kick();
    return count;
  }
}
