import type { Clock, HeaderEdit, TraceEvent, TraceSink } from '@relaylab/core';

type Unbound<E> = E extends TraceEvent ? Omit<E, 'at' | 'node'> : never;

/** An event as the node writes it: the time and the node's name are added when it is emitted. */
export type NodeEvent = Unbound<TraceEvent>;

/** The trace bound to one node and the lab clock, so no event is written without both. */
export class NodeTrace {
  constructor(
    readonly node: string,
    private readonly clock: Clock,
    private readonly sink: TraceSink,
  ) {}

  /** `at` when several events record one moment (the message and each of its header edits). */
  emit(event: NodeEvent, at: Date = this.clock.now()): void {
    this.write(event, at.toISOString(), new Date().toISOString());
  }

  /** Every header edit made to a message, in the order it was made, with its reason. */
  edits(messageId: string, edits: readonly HeaderEdit[], at: Date = this.clock.now()): void {
    if (!edits.length) return;
    // One moment for all of them, written once: a message gets some thirty edits on each hop.
    const labTime = at.toISOString();
    const realTime = new Date().toISOString();
    for (const e of edits) this.write({ type: 'header', messageId, op: e.op, name: e.name, value: e.value, reason: e.reason }, labTime, realTime);
  }

  /** The event's own fields after type, at, realAt and node, in the order the trace has always had them. */
  private write(event: NodeEvent, at: string, realAt: string): void {
    this.sink.emit(Object.assign({ type: event.type, at, realAt, node: this.node }, event) as TraceEvent);
  }
}
