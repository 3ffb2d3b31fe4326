import type { Writable } from 'node:stream';
import { MemoryTrace, type TraceEvent, type TraceSink } from '@relaylab/core';

/** Writes each event as one JSON line, so another process (a runner, jq, a log shipper) can read it. */
export class JsonLinesTrace implements TraceSink {
  constructor(private readonly out: Writable, private readonly extra: Record<string, unknown> = {}) {}
  emit(event: TraceEvent): void {
    this.out.write(`${JSON.stringify({ ...this.extra, ...event })}\n`);
  }
}

/** Keeps every event (for replay to late subscribers) and hands each to listeners as it happens. */
export class ObservedTrace extends MemoryTrace {
  private readonly listeners = new Set<(e: TraceEvent, index: number) => void>();

  override emit(event: TraceEvent): void {
    super.emit(event);
    for (const l of this.listeners) l(event, this.events.length - 1);
  }

  subscribe(listener: (e: TraceEvent, index: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Splits a byte stream into JSON lines; a partial line waits for the rest. */
export function jsonLines(onValue: (value: unknown) => void): (chunk: Buffer | string) => void {
  let pending = '';
  return (chunk) => {
    pending += chunk.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line) onValue(JSON.parse(line));
    }
  };
}

/** Events gathered from several processes in one order: by lab time, then in order of arrival. */
export function mergeByTime(events: readonly TraceEvent[]): TraceEvent[] {
  return events
    .map((e, i) => ({ e, i }))
    .sort((a, b) => (a.e.at < b.e.at ? -1 : a.e.at > b.e.at ? 1 : a.i - b.i))
    .map((x) => x.e);
}
