/**
 * What the tracker reads of a trace event: a full TraceEvent in an embedded lab, or the fields a
 * running lab's event stream (GET /api/events) carries.
 */
export interface ObservedEvent {
  type: string;
  node: string;
  messageId?: string;
  /** For rejected: the node whose reply refused the message. */
  by?: string;
}

/** Where each message of a load run ended; `queued` is still held by a node (deferred), not lost. */
export type FinalState = 'delivered' | 'bounced' | 'refused' | 'deleted';

export interface Accounting {
  sent: number;
  delivered: number;
  bounced: number;
  refused: number;
  deleted: number;
  /** Accepted and still in a node's queue when the run ended (deferred, waiting for a retry). */
  queued: number;
  /** Accepted by the lab and in no final state and no queue: a bug, never expected. */
  lost: number;
}

export interface HopLatency {
  hop: string;
  count: number;
  p50: number;
  p95: number;
  p99: number;
}

/** The nearest-rank percentile of sorted values (ms). */
export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

interface Tracked {
  /** Where the message was taken, in order: the node and when (real time, ms). */
  taken: Array<{ node: string; at: number }>;
  state?: FinalState;
}

/**
 * Follows the messages of a load run through the trace: each node that took a message (submitted
 * or received), and the event that ended it. Only the run's own Message-IDs are kept, and only
 * until the run is summarized: memory follows the messages, not the events.
 */
export class LoadTracker {
  private readonly messages = new Map<string, Tracked>();
  private readonly latencies = new Map<string, number[]>();
  finished = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  expect(messageId: string): void {
    this.messages.set(messageId, { taken: [] });
  }

  expects(messageId: string): boolean {
    return this.messages.has(messageId);
  }

  isFinal(messageId: string): boolean {
    return this.messages.get(messageId)?.state !== undefined;
  }

  /** `at`: when the event happened (ms), when the caller knows better than the moment it is observed. */
  observe(e: ObservedEvent, at = this.now()): void {
    if (e.messageId === undefined) return;
    const m = this.messages.get(e.messageId);
    if (!m || m.state) return;
    switch (e.type) {
      case 'submitted':
      case 'received': {
        const previous = m.taken[m.taken.length - 1];
        if (previous && e.type === 'received') this.latency(`${previous.node}→${e.node}`, at - previous.at);
        m.taken.push({ node: e.node, at });
        return;
      }
      case 'delivered':
        return this.end(m, 'delivered');
      case 'bounced':
        return this.end(m, 'bounced');
      case 'rejected':
        // Refused by the node it was submitted to (its own policy); refused further on, it is bounced back (NDR).
        return this.end(m, e.by === e.node ? 'refused' : 'bounced');
      case 'deleted':
        return this.end(m, 'deleted');
      default:
        return;
    }
  }

  /** A state seen outside the trace: an SMTP client told 5xx by the node it entered at. */
  settle(messageId: string, state: FinalState): void {
    const m = this.messages.get(messageId);
    if (m && !m.state) this.end(m, state);
  }

  private end(m: Tracked, state: FinalState): void {
    m.state = state;
    this.finished++;
  }

  private latency(hop: string, ms: number): void {
    const list = this.latencies.get(hop) ?? [];
    list.push(ms);
    this.latencies.set(hop, list);
  }

  /** The run's messages in no final state yet. */
  open(): string[] {
    return [...this.messages].filter(([, m]) => !m.state).map(([id]) => id);
  }

  /** `held`: how many messages the lab's queues still hold (items, one recipient each here). */
  accounting(held: number): Accounting {
    const a: Accounting = { sent: this.messages.size, delivered: 0, bounced: 0, refused: 0, deleted: 0, queued: 0, lost: 0 };
    for (const m of this.messages.values()) {
      if (m.state) a[m.state]++;
    }
    const open = a.sent - a.delivered - a.bounced - a.refused - a.deleted;
    a.queued = Math.min(open, held);
    a.lost = open - a.queued;
    return a;
  }

  hops(): HopLatency[] {
    return [...this.latencies].map(([hop, values]) => {
      const sorted = [...values].sort((x, y) => x - y);
      return { hop, count: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
    });
  }
}
