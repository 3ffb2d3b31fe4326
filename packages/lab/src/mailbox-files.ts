import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { TraceEvent } from '@relaylab/core';
import {
  MailboxStore,
  settleable,
  sweepTempFiles,
  syncDirAsync,
  writeFileAtomic,
  writeFileAtomicAsync,
  type MailNode,
  type StoredMessage,
} from '@relaylab/mta';

const safe = (s: string) =>
  s
    .replace(/[<>]/g, '')
    .replace(/[^A-Za-z0-9@._+-]+/g, '_')
    .slice(0, 120);

/** The file a delivery is stored as, without the `-2`, `-3` a second copy at the same instant gets. */
export function mailboxFileOf(dir: string, m: Pick<StoredMessage, 'recipient' | 'messageId' | 'deliveredAt'>): string {
  return join(dir, safe(m.recipient.toLowerCase()), `${m.deliveredAt.toISOString().replace(/[:.]/g, '-')}-${safe(m.messageId)}.eml`);
}

/**
 * `<dir>/<mailbox>/<time>-<message-id>.eml`: the bytes exactly as the last hop stored them,
 * written atomically (temp, fsync, rename) before the node's 250, so a crash leaves the whole
 * message or none, never an empty file. A second copy never replaces the first: a duplicate
 * delivery must stay visible.
 */
export function writeMailboxMessage(dir: string, m: StoredMessage): string {
  const first = mailboxFileOf(dir, m);
  mkdirSync(join(first, '..'), { recursive: true });
  let file = first;
  for (let n = 2; existsSync(file); n++) file = first.replace(/\.eml$/, `-${n}.eml`);
  writeFileAtomic(file, m.raw, 0o644);
  return file;
}

/** Files of one batch written at once: libuv's four threads are shared with the spools' fsyncs. */
const FILES_IN_FLIGHT = 8;

/** Batches written at once: one batch's files are written while the one before it waits for its fsyncs. */
const BATCHES_AT_ONCE = 2;

/** A file of the batch being gathered. */
interface Pending {
  file: string;
  raw: Buffer;
}

interface Batch {
  files: Pending[];
  done: Promise<void>;
  settle(err?: Error): void;
}

function newBatch(): Batch {
  return { files: [], ...settleable() };
}

/**
 * writeMailboxMessage off the event loop, with group commit: the messages delivered while the
 * disk is busy are written together, each to a temp file fsynced and renamed (whole or absent
 * after a crash, as writeMailboxMessage), then each folder they went to fsynced once. A synchronous
 * write and two fsyncs per message held the whole lab's event loop for as long as the disk took.
 *
 * A batch settles only after the one begun before it, so `write(...).durable` resolving means
 * that message and every one written before it are on disk: a node answers 250 for a message
 * delivered here only then.
 */
export class MailboxWriter {
  private next = newBatch();
  private readonly running = new Set<Batch>();
  private scheduled = false;
  /** Settles once the batch begun last has (and so every batch before it). */
  private previous: Promise<void> = Promise.resolve();
  /** Names given to messages not yet renamed into place: a second copy must not take one. */
  private readonly claimed = new Set<string>();
  /** Folders known to exist (made, and their entry in `dir` fsynced). */
  private readonly folders = new Set<string>();
  private failure?: Error;

  constructor(readonly dir: string) {}

  /** Starts writing `m`; `file` is its name from now on, `durable` resolves once it is on disk. */
  write(m: StoredMessage): { file: string; durable: Promise<void> } {
    const first = mailboxFileOf(this.dir, m);
    let file = first;
    for (let n = 2; this.claimed.has(file) || existsSync(file); n++) file = first.replace(/\.eml$/, `-${n}.eml`);
    this.claimed.add(file);
    const batch = this.next;
    batch.files.push({ file, raw: m.raw });
    if (!this.scheduled) {
      // The batch starts on the next turn of the loop, so the deliveries of this one share it.
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.run();
      });
    }
    return { file, durable: batch.done };
  }

  isIdle(): boolean {
    return this.running.size === 0 && this.next.files.length === 0;
  }

  /** Waits for every write asked for so far; throws what made one fail, if one did. */
  async flush(): Promise<void> {
    while (!this.isIdle()) await (this.next.files.length ? this.next.done.catch(() => undefined) : this.previous);
    const failure = this.failure;
    this.failure = undefined;
    if (failure) throw failure;
  }

  private run(): void {
    if (this.next.files.length === 0 || this.running.size >= BATCHES_AT_ONCE) return; // finish() runs it again
    const batch = this.next;
    this.next = newBatch();
    this.running.add(batch);
    const before = this.previous;
    const ended = this.commit(batch.files).then(
      () => undefined,
      (err: Error) => err,
    );
    this.previous = Promise.all([ended, before]).then(([err]) => this.finish(batch, err));
  }

  private finish(batch: Batch, err?: Error): void {
    for (const p of batch.files) this.claimed.delete(p.file);
    this.running.delete(batch);
    if (err) this.failure = err;
    batch.settle(err);
    this.run();
  }

  private async commit(files: readonly Pending[]): Promise<void> {
    const folders = [...new Set(files.map((p) => dirname(p.file)))];
    const made = folders.filter((f) => !this.folders.has(f));
    if (made.length) {
      await Promise.all(made.map((f) => mkdir(f, { recursive: true })));
      // A new folder's own entry must be durable too, or a power cut could lose the whole mailbox.
      await syncDirAsync(this.dir);
      for (const f of made) this.folders.add(f);
    }
    let next = 0;
    const errors: unknown[] = [];
    const worker = async () => {
      while (next < files.length) {
        const p = files[next++]!;
        await writeFileAtomicAsync(p.file, p.raw, 0o644).catch((err: unknown) => errors.push(err));
      }
    };
    await Promise.all(Array.from({ length: Math.min(FILES_IN_FLIGHT, files.length) }, worker));
    await Promise.all(folders.map((f) => syncDirAsync(f)));
    if (errors.length) throw errors[0];
  }
}

type Delivery = Pick<Extract<TraceEvent, { type: 'delivered' }>, 'node' | 'mailbox' | 'messageId'>;

const deliveryKey = (node: string, mailbox: string, messageId: string) => `${node}\n${mailbox.toLowerCase()}\n${messageId}`;

/**
 * Every message the nodes deliver from now on written to `dir` by one MailboxWriter; each node's
 * 250 for a message delivered there waits until its file is durable (MailboxStore.keepWith).
 * `written(e)` is the file of a `delivered` event and when it is on disk: the mailbox put comes
 * just before the event, so it is known then. A delivery the nodes made before this was called
 * (mail the queue took back while they started) is written when `written` first sees it.
 */
export function keepMailboxFiles(
  nodes: Iterable<{ name: string; mailboxes: { get(address: string): StoredMessage[] } }>,
  dir: string,
): { written(e: Delivery): { file: string; durable: Promise<void> } | undefined; writer: MailboxWriter } {
  const writer = new MailboxWriter(dir);
  /** Files begun and not yet claimed by their event; a list, as the same message may come twice. */
  const begun = new Map<string, Array<{ file: string; durable: Promise<void> }>>();
  const byName = new Map<string, { get(address: string): StoredMessage[] }>();
  for (const node of nodes) {
    byName.set(node.name, node.mailboxes);
    if (!(node.mailboxes instanceof MailboxStore)) continue;
    node.mailboxes.keepWith((m) => {
      const w = writer.write(m);
      const key = deliveryKey(node.name, m.recipient, m.messageId);
      begun.set(key, [...(begun.get(key) ?? []), w]);
      return w.durable;
    });
  }
  return {
    writer,
    written(e) {
      const key = deliveryKey(e.node, e.mailbox, e.messageId);
      const list = begun.get(key);
      const w = list?.shift();
      if (list && !list.length) begun.delete(key);
      if (w) return w;
      const stored = byName
        .get(e.node)
        ?.get(e.mailbox)
        .filter((m) => m.messageId === e.messageId)
        .pop();
      return stored && writer.write(stored);
    },
  };
}

/**
 * Removes what writes cut short by a crash left in the mailbox folders (temp files never renamed):
 * called when a lab starts on an existing `--out`. Returns the paths removed.
 */
export function sweepMailboxTemps(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => statSync(join(dir, name)).isDirectory())
    .flatMap((box) => sweepTempFiles(join(dir, box)).map((name) => join(dir, box, name)));
}

type Delivered = Extract<TraceEvent, { type: 'delivered' }>;

/**
 * Lines up a trace's `delivered` events with the mailbox files. The trace line is written just
 * before the file, and both before the 250, so after a crash a line may lack its file: that
 * delivery was never acknowledged and the sender sends the message again. A file without a line
 * would be mail the trace does not know about.
 */
export function reconcileMailboxes(events: readonly TraceEvent[], dir: string): { withoutFile: Delivered[]; withoutEvent: string[]; files: number } {
  const files = new Set<string>();
  if (existsSync(dir)) {
    for (const box of readdirSync(dir)) {
      if (!statSync(join(dir, box)).isDirectory()) continue;
      for (const name of readdirSync(join(dir, box))) if (name.endsWith('.eml')) files.add(join(dir, box, name));
    }
  }
  const unmatched = new Set(files);
  const withoutFile: Delivered[] = [];
  for (const e of events) {
    if (e.type !== 'delivered') continue;
    const first = mailboxFileOf(dir, { recipient: e.mailbox, messageId: e.messageId, deliveredAt: new Date(e.at) });
    let file = first;
    for (let n = 2; !unmatched.has(file) && files.has(file); n++) file = first.replace(/\.eml$/, `-${n}.eml`);
    if (unmatched.has(file)) unmatched.delete(file);
    else withoutFile.push(e);
  }
  return { withoutFile, withoutEvent: [...unmatched].sort(), files: files.size };
}

/**
 * What a node still holds for delivery, written at shutdown as `<dir>/<node>/<id>.eml` plus a
 * `.json` with envelope, next hop and last error, so stopping a lab never silently drops mail.
 */
export function writeSpool(
  dir: string,
  node: Pick<MailNode, 'name'> & { queue: Pick<MailNode['queue'], 'pending'> & Partial<Pick<MailNode['queue'], 'bodyOfSync'>> },
): string[] {
  const items = node.queue.pending();
  if (!items.length) return [];
  const folder = join(dir, safe(node.name));
  mkdirSync(folder, { recursive: true });
  return items.map((item) => {
    const base = join(folder, safe(item.id));
    // A body the queue let go of in memory is read back from the node's own spool.
    const raw = item.raw ?? node.queue.bodyOfSync?.(item);
    if (!raw) throw new Error(`${node.name} holds no body for queued message ${item.messageId}`);
    writeFileAtomic(`${base}.eml`, raw, 0o644);
    const { raw: _raw, ...meta } = item;
    writeFileAtomic(`${base}.json`, `${JSON.stringify(meta, null, 2)}\n`, 0o644);
    return `${base}.eml`;
  });
}
