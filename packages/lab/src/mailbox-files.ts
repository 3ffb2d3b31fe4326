import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TraceEvent } from '@relaylab/core';
import { sweepTempFiles, writeFileAtomic, type MailNode, type StoredMessage } from '@relaylab/mta';

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
export function writeSpool(dir: string, node: Pick<MailNode, 'name'> & { queue: Pick<MailNode['queue'], 'pending'> }): string[] {
  const items = node.queue.pending();
  if (!items.length) return [];
  const folder = join(dir, safe(node.name));
  mkdirSync(folder, { recursive: true });
  return items.map((item) => {
    const base = join(folder, safe(item.id));
    writeFileAtomic(`${base}.eml`, item.raw, 0o644);
    const { raw: _raw, ...meta } = item;
    writeFileAtomic(`${base}.json`, `${JSON.stringify(meta, null, 2)}\n`, 0o644);
    return `${base}.eml`;
  });
}
