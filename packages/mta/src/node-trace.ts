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
    const { type, ...fields } = event;
    this.sink.emit({ type, at: at.toISOString(), realAt: new Date().toISOString(), node: this.node, ...fields } as TraceEvent);
  }

  /** Every header edit made to a message, in the order it was made, with its reason. */
  edits(messageId: string, edits: readonly HeaderEdit[], at: Date = this.clock.now()): void {
    for (const e of edits) this.emit({ type: 'header', messageId, op: e.op, name: e.name, value: e.value, reason: e.reason }, at);
  }
}
