import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import type { TraceEvent, TraceSink } from '@relaylab/core';

/**
 * Where the line of every STRIDE-th event starts is held; the others are found by reading that
 * block of lines. A message makes some 40 events on the hybrid topology, so an offset per event
 * (8 bytes) was 320 bytes per message for the life of the lab; this is 5.
 */
const STRIDE = 64;

/**
 * The trace of a lab kept up for days: every event goes to a JSON-lines file as it happens (one
 * write(2) of a whole line before emit returns, as JsonLinesFile), and memory keeps only the
 * latest `keep` events plus where every STRIDE-th event's line starts, and for the latest `indexed`
 * messages the numbers of their events. Older events are read back from the file when asked for, so `events[i]`, `length`,
 * `map` and the other array reads, and `subscribe`, work as on ObservedTrace: a web view or a
 * report finds every event of a message without the lab holding them all.
 */
export class TraceStore implements TraceSink {
  /** Every event so far, in order; the ones no longer in memory are read from the file. */
  readonly events: readonly TraceEvent[];
  private readonly fd: number;
  private readonly reader: number;
  private size: number;
  /** marks[b]: where event b * STRIDE starts in the file. */
  private marks = new Float64Array(1024);
  private count = 0;
  /** The block of lines read last: reading events in order reads the file once. */
  private block?: { number: number; lines: string[] };
  private readonly recent: TraceEvent[] = [];
  private readonly byMessage = new Map<string, number[]>();
  /** The last event number of any message dropped from the index (-1: none dropped yet). */
  private evictedUpTo = -1;
  private readonly listeners = new Set<(e: TraceEvent, index: number) => void>();

  /**
   * `keep`: events held in memory; `indexed`: messages whose event numbers are held (older ones
   * are found by a scan of the file). Memory then grows by one file offset (8 bytes) per STRIDE events.
   */
  constructor(
    readonly file: string,
    private readonly keep = 2000,
    private readonly indexed = 20_000,
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
    const index = this.count++;
    if (index % STRIDE === 0) {
      const mark = index / STRIDE;
      if (mark === this.marks.length) {
        const grown = new Float64Array(this.marks.length * 2);
        grown.set(this.marks);
        this.marks = grown;
      }
      this.marks[mark] = this.size;
    }
    this.size += line.length;
    this.recent.push(e);
    if (this.recent.length > this.keep) this.recent.shift();
    if ('messageId' in e && e.messageId) {
      const list = this.byMessage.get(e.messageId);
      if (list) list.push(index);
      else {
        this.byMessage.set(e.messageId, [index]);
        // The oldest message leaves the index (Maps keep insertion order); eventsOf finds it in the file.
        if (this.byMessage.size > this.indexed) {
          const [oldest, events] = this.byMessage.entries().next().value!;
          this.evictedUpTo = Math.max(this.evictedUpTo, events[events.length - 1]!);
          this.byMessage.delete(oldest);
        }
      }
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
    return JSON.parse(this.line(i)) as TraceEvent;
  }

  private line(i: number): string {
    const number = Math.floor(i / STRIDE);
    const at = i - number * STRIDE;
    if (!(this.block?.number === number && at < this.block.lines.length)) {
      const start = this.marks[number]!;
      const end = (number + 1) * STRIDE < this.count ? this.marks[number + 1]! : this.size;
      const buffer = Buffer.alloc(end - start);
      readSync(this.reader, buffer, 0, buffer.length, start);
      // Every line ends in a newline, so the last piece is empty.
      this.block = { number, lines: buffer.toString('utf8').split('\n').slice(0, -1) };
    }
    return this.block.lines[at]!;
  }

  /** Every event of one message, in order (those that name it by Message-ID). */
  eventsOf(messageId: string): TraceEvent[] {
    const indexed = this.byMessage.get(messageId) ?? [];
    // Events of a message the index let go of (it may have come back since) are found by a scan
    // of the file, up to the last event the index dropped; the index has the rest.
    const scanTo = Math.min(indexed[0] ?? this.count, this.evictedUpTo + 1);
    return [...this.scan(messageId, scanTo), ...indexed.map((i) => this.event(i)!)];
  }

  private scan(messageId: string, to: number): TraceEvent[] {
    const found: TraceEvent[] = [];
    const needle = JSON.stringify(messageId);
    for (let i = 0; i < to; i++) {
      const e = this.line(i);
      if (e.includes(needle)) {
        const parsed = JSON.parse(e) as TraceEvent;
        if ('messageId' in parsed && parsed.messageId === messageId) found.push(parsed);
      }
    }
    return found;
  }

  close(): void {
    closeSync(this.fd);
    closeSync(this.reader);
  }
}
