import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import type { TraceEvent, TraceSink } from '@relaylab/core';

/**
 * The trace of a lab kept up for days: every event goes to a JSON-lines file as it happens (one
 * write(2) of a whole line before emit returns, as JsonLinesFile), and memory keeps only the
 * latest `keep` events plus, per event, where its line starts, and per message the numbers of its
 * events. Older events are read back from the file when asked for, so `events[i]`, `length`,
 * `map` and the other array reads, and `subscribe`, work as on ObservedTrace: a web view or a
 * report finds every event of a message without the lab holding them all.
 */
export class TraceStore implements TraceSink {
  /** Every event so far, in order; the ones no longer in memory are read from the file. */
  readonly events: readonly TraceEvent[];
  private readonly fd: number;
  private readonly reader: number;
  private size: number;
  private offsets = new Float64Array(1024);
  private count = 0;
  private readonly recent: TraceEvent[] = [];
  private readonly byMessage = new Map<string, number[]>();
  private readonly listeners = new Set<(e: TraceEvent, index: number) => void>();

  constructor(
    readonly file: string,
    private readonly keep = 2000,
  ) {
    this.fd = openSync(file, 'a', 0o644);
    this.reader = openSync(file, 'r');
    this.size = fstatSync(this.fd).size;
    if (this.size > 0) {
      // A line a crash cut short is closed, so the next event starts on its own.
      const last = Buffer.alloc(1);
      readSync(this.reader, last, 0, 1, this.size - 1);
      if (last[0] !== 0x0a) this.size += writeSync(this.fd, '\n');
    }
    const count = () => this.count;
    const event = (i: number) => this.event(i);
    this.events = new Proxy([] as TraceEvent[], {
      get(target, prop, receiver) {
        if (prop === 'length') return count();
        if (typeof prop === 'string' && /^\d+$/.test(prop)) return event(Number(prop));
        if (prop === Symbol.iterator)
          return function* () {
            for (let i = 0; i < count(); i++) yield event(i);
          };
        return Reflect.get(target, prop, receiver);
      },
      has(_target, prop) {
        return prop === 'length' || (typeof prop === 'string' && /^\d+$/.test(prop) && Number(prop) < count());
      },
    });
  }

  get length(): number {
    return this.count;
  }

  emit(event: TraceEvent): void {
    const e = event.realAt ? event : { ...event, realAt: new Date().toISOString() };
    const line = Buffer.from(`${JSON.stringify(e)}\n`);
    writeSync(this.fd, line);
    if (this.count === this.offsets.length) {
      const grown = new Float64Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    const index = this.count++;
    this.offsets[index] = this.size;
    this.size += line.length;
    this.recent.push(e);
    if (this.recent.length > this.keep) this.recent.shift();
    if ('messageId' in e && e.messageId) {
      const list = this.byMessage.get(e.messageId);
      if (list) list.push(index);
      else this.byMessage.set(e.messageId, [index]);
    }
    for (const l of this.listeners) l(e, index);
  }

  subscribe(listener: (e: TraceEvent, index: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The i-th event: from memory when recent, else its line read back from the file. */
  event(i: number): TraceEvent | undefined {
    if (!(i >= 0 && i < this.count)) return undefined;
    const firstRecent = this.count - this.recent.length;
    if (i >= firstRecent) return this.recent[i - firstRecent];
    const start = this.offsets[i]!;
    const end = i + 1 < this.count ? this.offsets[i + 1]! : this.size;
    const buffer = Buffer.alloc(end - start);
    readSync(this.reader, buffer, 0, buffer.length, start);
    return JSON.parse(buffer.toString('utf8')) as TraceEvent;
  }

  /** Every event of one message, in order (those that name it by Message-ID). */
  eventsOf(messageId: string): TraceEvent[] {
    return (this.byMessage.get(messageId) ?? []).map((i) => this.event(i)!);
  }

  close(): void {
    closeSync(this.fd);
    closeSync(this.reader);
  }
}
