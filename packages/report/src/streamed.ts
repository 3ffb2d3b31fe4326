import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Scenario, ScenarioResult } from '@relaylab/lab';
import type { RunReport, RunTiming } from './run';

/** One scenario rendered, and the little the document around it needs from that scenario (counts, a name). */
export interface ScenarioPart<T> {
  /** In pieces when a scenario can be large (many messages), so it is written without being one string. */
  text: string | Iterable<string>;
  tally: T;
}

const piecesOf = (text: string | Iterable<string>): Iterable<string> => (typeof text === 'string' ? [text] : text);

/**
 * A report that is one document around one part per scenario. A part is rendered as soon as its
 * scenario ends, so a run never holds finished scenarios (their traces above all) until the end;
 * the frame is rendered last, from the run's timing and the tallies alone.
 */
export interface StreamedFormat<T> {
  /** `startedAt` is the run's start (known before any scenario ends), for formats that repeat it. */
  part(r: ScenarioResult, startedAt: string): ScenarioPart<T>;
  /** Tallies in scenario order; the document is head + parts joined by separator + tail. */
  frame(run: RunTiming, tallies: readonly T[]): { head: string; separator: string; tail: string };
}

/** The whole document at once, from a run that still holds every result: the same bytes as a streamed one. */
export function renderWhole<T>(format: StreamedFormat<T>, run: RunReport): string {
  const parts = run.results.map((r) => format.part(r, run.startedAt));
  const { head, separator, tail } = format.frame(
    run,
    parts.map((p) => p.tally),
  );
  return head + parts.map((p) => [...piecesOf(p.text)].join('')).join(separator) + tail;
}

interface Spooled<T> {
  order: number;
  tally: T;
  offset: number;
  length: number;
}

const CHUNK = 1 << 20;

/**
 * One report file written a scenario at a time: each part goes to a spool file on disk as its
 * scenario ends (scenarios end out of order when they run side by side), and `finish` copies the
 * parts into the file in scenario order between the frame's head and tail. Memory holds one part
 * and the tallies, whatever the number of scenarios.
 */
export class SpooledFile<T> {
  private order = new Map<Scenario, number>();
  private spooled: Array<Spooled<T>> = [];
  private spoolDir?: string;
  private spoolFd?: number;
  private size = 0;
  private startedAt = new Date().toISOString();

  constructor(
    private readonly path: string,
    private readonly format: StreamedFormat<T>,
  ) {}

  start(scenarios: readonly Scenario[], startedAt?: string): void {
    scenarios.forEach((s, i) => this.order.set(s, i));
    if (startedAt) this.startedAt = startedAt;
  }

  add(r: ScenarioResult): void {
    const { text, tally } = this.format.part(r, this.startedAt);
    if (this.spoolFd === undefined) {
      this.spoolDir = mkdtempSync(join(tmpdir(), 'relaylab-report-'));
      this.spoolFd = openSync(join(this.spoolDir, 'parts'), 'w+');
    }
    const offset = this.size;
    let pending: string[] = [];
    let pendingLength = 0;
    const flush = () => {
      const bytes = Buffer.from(pending.join(''));
      for (let done = 0; done < bytes.length;) done += writeSync(this.spoolFd!, bytes, done, bytes.length - done, this.size + done);
      this.size += bytes.length;
      pending = [];
      pendingLength = 0;
    };
    for (const piece of piecesOf(text)) {
      pending.push(piece);
      pendingLength += piece.length;
      if (pendingLength >= CHUNK) flush();
    }
    flush();
    // a scenario start() did not list goes after those it did, in the order it ended
    const order = this.order.get(r.scenario) ?? this.order.size + this.spooled.length;
    this.spooled.push({ order, tally, offset, length: this.size - offset });
  }

  /** Writes the file, removes the spool, and returns the file's path. */
  finish(run: RunTiming): string {
    try {
      const parts = [...this.spooled].sort((a, b) => a.order - b.order);
      const { head, separator, tail } = this.format.frame(
        run,
        parts.map((p) => p.tally),
      );
      const out = openSync(this.path, 'w');
      try {
        writeAll(out, Buffer.from(head));
        const chunk = Buffer.alloc(CHUNK);
        parts.forEach((p, i) => {
          if (i > 0) writeAll(out, Buffer.from(separator));
          for (let done = 0; done < p.length;) {
            const n = readSync(this.spoolFd!, chunk, 0, Math.min(CHUNK, p.length - done), p.offset + done);
            if (n === 0) throw new Error(`the spool of ${this.path} ended early`);
            writeAll(out, chunk.subarray(0, n));
            done += n;
          }
        });
        writeAll(out, Buffer.from(tail));
      } finally {
        closeSync(out);
      }
      return this.path;
    } finally {
      this.discard();
    }
  }

  /** Drops the spool without writing (also what finish does once it wrote). */
  discard(): void {
    if (this.spoolFd !== undefined) closeSync(this.spoolFd);
    if (this.spoolDir) rmSync(this.spoolDir, { recursive: true, force: true });
    this.spoolFd = undefined;
    this.spoolDir = undefined;
    this.spooled = [];
    this.size = 0;
  }
}

function writeAll(fd: number, bytes: Buffer): void {
  for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done);
}
