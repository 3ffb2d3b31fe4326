import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { MemoryTrace, type TraceEvent, type TraceSink } from '@relaylab/core';

/** Writes each event as one JSON line, so another process (a runner, jq, a log shipper) can read it. */
export class JsonLinesTrace implements TraceSink {
  constructor(
    private readonly out: Writable,
    private readonly extra: Record<string, unknown> = {},
  ) {}
  emit(event: TraceEvent): void {
    this.out.write(`${JSON.stringify({ ...this.extra, ...event })}\n`);
  }
}

/**
 * The trace as a JSON-lines file that a crash cannot cut short: each event is one write(2) of a
 * whole line, made before the emit returns, so every event that preceded a 250 is in the file
 * when the 250 leaves (the kernel keeps it through kill -9; not fsynced, so not through a power
 * cut). Appends to what an earlier run wrote; if that run died in the middle of a line, the line
 * is closed first so the next event starts on its own.
 */
export class JsonLinesFile implements TraceSink {
  private fd: number | undefined;

  constructor(
    readonly file: string,
    private readonly extra: Record<string, unknown> = {},
  ) {
    this.fd = openSync(file, 'a', 0o644);
    const size = fstatSync(this.fd).size;
    if (size > 0) {
      const last = Buffer.alloc(1);
      const reader = openSync(file, 'r');
      try {
        readSync(reader, last, 0, 1, size - 1);
      } finally {
        closeSync(reader);
      }
      if (last[0] !== 0x0a) writeSync(this.fd, '\n');
    }
  }

  emit(event: TraceEvent): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, `${JSON.stringify({ ...this.extra, ...event })}\n`);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** A trace file's events in order; a line a crash cut short is counted, not fatal. */
export function readTraceFile(file: string): { events: TraceEvent[]; damagedLines: number } {
  const events: TraceEvent[] = [];
  let damagedLines = 0;
  if (!existsSync(file)) return { events, damagedLines };
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line) as TraceEvent);
    } catch {
      damagedLines++;
    }
  }
  return { events, damagedLines };
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
