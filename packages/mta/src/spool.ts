import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadedItem } from './queue';
import { parseStoredItem, toStored } from './spool-item';
import { sweepTempFiles, syncDir, syncDirAsync, unlinkIfPresent, writeFileAtomicAsync } from './atomic-files';
import { settleable } from './settleable';

/** The spool keeps queue items whole: enough to carry on after the process died. */
export type SpooledItem = Omit<LoadedItem, 'size'> & { size?: number };

const FILE = /^([A-Za-z0-9_-]+)\.json$/;

/** What loading a spool found besides good items: each bad file was moved to `corrupt/`. */
export interface SpoolProblem {
  file: string;
  reason: string;
  movedTo: string;
}

/**
 * Files of one batch written at once. The nodes of a lab share one process and libuv's four
 * threads: a batch of a thousand submitted messages queued all its opens and fsyncs at once, and
 * another node's spool, whose 250 waits on its own small batch, queued behind all of them.
 */
const FILES_IN_FLIGHT = 8;

/** Batches written at once: two sessions each wait for their own fsyncs; more sessions share batches. */
const BATCHES_AT_ONCE = 2;

/** `work` over every item with at most `limit` running at once; settles like Promise.allSettled. */
async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<PromiseSettledResult<void>[]> {
  const results: PromiseSettledResult<void>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const at = next++;
      try {
        await work(items[at]!);
        results[at] = { status: 'fulfilled', value: undefined };
      } catch (reason) {
        results[at] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The last thing asked of an item's file in a batch: its new contents, or its removal. */
type Change = { write: Buffer } | { remove: true };

interface Batch {
  changes: Map<string, Change>;
  done: Promise<void>;
  settle(err?: Error): void;
}

function newBatch(): Batch {
  return { changes: new Map(), ...settleable() };
}

/**
 * One file per queue item, `<id>.json`, written to a temporary name, fsynced, renamed over the
 * old one and the directory fsynced: after a crash a file is either the old version or the new,
 * never half of one.
 *
 * Group commit, as Postfix and Exchange's queue database do: `write` and `remove` only note the
 * change; the changes of every session that arrives while the disk is busy are written together
 * (files fsynced in parallel off the event loop, then one fsync of the directory). Up to
 * BATCHES_AT_ONCE batches run at once (a batch that touches an item a running one holds waits
 * for it), so that two sessions each wait for their own fsyncs rather than one for the other's;
 * beyond that, changes gather into the next batch. `committed()` resolves once the changes just
 * asked for are on disk: the listener answers 250 only then. An item written and removed before
 * its batch ran (delivered on at once) never touches the disk: the next hop holds it durably by then.
 */
export class Spool {
  private next = newBatch();
  private readonly running = new Set<Batch>();
  private scheduled = false;
  /** Why the last batch failed, for stop() to report. */
  private failure?: Error;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  fileOf(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  get corruptDir(): string {
    return join(this.dir, 'corrupt');
  }

  write(item: SpooledItem): void {
    this.change(item.id, { write: Buffer.from(JSON.stringify(toStored(item))) });
  }

  remove(id: string): void {
    this.change(id, { remove: true });
  }

  /** Resolves when every write and removal asked for so far is on disk; rejects if writing failed. */
  durable(): Promise<void> {
    const waits = [...this.running].map((b) => b.done);
    if (this.next.changes.size) waits.push(this.next.done);
    if (waits.length <= 1) return waits[0] ?? Promise.resolve();
    return Promise.all(waits).then(() => undefined);
  }

  /**
   * Resolves when the changes asked for since the last batch began (those of the caller that just
   * asked, in the same tick) are on disk; rejects if writing them failed. Batches already running
   * hold other items: a 250 need not wait for them.
   */
  committed(): Promise<void> {
    return this.next.changes.size ? this.next.done : this.durable();
  }

  /** Nothing waits to be written. */
  isIdle(): boolean {
    return this.running.size === 0 && this.next.changes.size === 0;
  }

  /** Waits for every change asked for so far; throws what made a batch fail, if one did. */
  async flush(): Promise<void> {
    while (!this.isIdle()) await this.durable().catch(() => undefined);
    const failure = this.failure;
    this.failure = undefined;
    if (failure) throw failure;
  }

  /** Writes and removals asked for since the spool was made: a caller compares two counts to know whether it asked for any. */
  changes = 0;

  private change(id: string, change: Change): void {
    this.changes++;
    this.next.changes.set(id, change);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.run());
  }

  private run(): void {
    this.scheduled = false;
    const changes = this.next.changes;
    if (changes.size === 0 || this.running.size >= BATCHES_AT_ONCE) return; // finish() runs it again
    // The same item in two batches at once could land in either order: the later one waits.
    for (const b of this.running) {
      const [small, large] = b.changes.size < changes.size ? [b.changes, changes] : [changes, b.changes];
      for (const id of small.keys()) if (large.has(id)) return;
    }
    const batch = this.next;
    this.next = newBatch();
    this.running.add(batch);
    void this.commit(batch.changes).then(
      () => this.finish(batch),
      (err: Error) => this.finish(batch, err),
    );
  }

  /** The batch leaves the running set before anyone waiting on it runs: isIdle() already counts it done for them. */
  private finish(batch: Batch, err?: Error): void {
    this.running.delete(batch);
    if (err) this.failure = err;
    batch.settle(err);
    this.run();
  }

  private async commit(changes: Map<string, Change>): Promise<void> {
    let writes = 0;
    const results = await inParallel([...changes], FILES_IN_FLIGHT, ([id, c]) =>
      'write' in c ? (writes++, writeFileAtomicAsync(this.fileOf(id), c.write)) : unlinkIfPresent(this.fileOf(id)),
    );
    // A batch of removals alone is not fsynced, as Postfix's queue manager unlinks a finished
    // queue file without one: nobody waits on a removal, and one that a power cut loses leaves
    // the item to be delivered again, as a crash between the next hop's 250 and the removal
    // would. The folder's fsync that a later write batch does makes it durable too. On a busy
    // queue it was a second fsync per delivered message, competing with those the 250s wait for.
    if (writes) await syncDirAsync(this.dir);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /**
   * The message an item's file holds, for a queue that let go of it in memory. A file that is gone
   * or does not hold a valid item is an error saying so; a damaged one is moved to `corrupt/`,
   * as load() does, for a person to look at.
   */
  async readRaw(id: string): Promise<Buffer> {
    let text: string;
    try {
      text = await readFile(this.fileOf(id), 'utf8');
    } catch (err) {
      throw this.unreadable(id, err as NodeJS.ErrnoException);
    }
    return this.rawIn(id, text);
  }

  readRawSync(id: string): Buffer {
    let text: string;
    try {
      text = readFileSync(this.fileOf(id), 'utf8');
    } catch (err) {
      throw this.unreadable(id, err as NodeJS.ErrnoException);
    }
    return this.rawIn(id, text);
  }

  private unreadable(id: string, err: NodeJS.ErrnoException): Error {
    return new Error(err.code === 'ENOENT' ? `spool file ${this.fileOf(id)} is missing` : `spool file ${this.fileOf(id)} cannot be read (${err.message})`);
  }

  private rawIn(id: string, text: string): Buffer {
    try {
      return parseStoredItem(text, id).raw;
    } catch (err) {
      const movedTo = this.moveAside(`${id}.json`);
      throw new Error(`spool file ${this.fileOf(id)} is not a valid queue item (${(err as Error).message}); moved to ${movedTo}`);
    }
  }

  /**
   * Every item a previous run left. A file that does not hold a valid item is moved to
   * `corrupt/` (kept for a person to look at, never retried) and reported; the others load. Temp
   * files of a write that a crash cut short are removed: the rename never happened, so the item's
   * previous version, or none if the 250 was never sent, is the truth.
   */
  load(): { items: LoadedItem[]; problems: SpoolProblem[]; sweptTemps: string[] } {
    const sweptTemps = sweepTempFiles(this.dir);
    const items: LoadedItem[] = [];
    const problems: SpoolProblem[] = [];
    for (const name of readdirSync(this.dir).sort()) {
      const m = FILE.exec(name);
      if (!m) continue;
      try {
        items.push(parseStoredItem(readFileSync(join(this.dir, name), 'utf8'), m[1]!));
      } catch (err) {
        problems.push({ file: join(this.dir, name), reason: (err as Error).message, movedTo: this.moveAside(name) });
      }
    }
    return { items, problems, sweptTemps };
  }

  private moveAside(name: string): string {
    mkdirSync(this.corruptDir, { recursive: true });
    let target = join(this.corruptDir, name);
    for (let n = 2; existsSync(target); n++) target = join(this.corruptDir, `${name}.${n}`);
    renameSync(join(this.dir, name), target);
    syncDir(this.dir);
    return target;
  }
}
