import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { QueueItem } from './queue';

/** The spool keeps queue items whole: enough to carry on after the process died. */
export type SpooledItem = QueueItem;

interface Stored extends Omit<SpooledItem, 'raw' | 'enqueuedAt' | 'nextAttemptAt'> {
  version: 1;
  raw: string;
  enqueuedAt: string;
  nextAttemptAt: string;
}

const FILE = /^[A-Za-z0-9_-]+\.json$/;

/**
 * One file per queue item, `<id>.json`, written to a temporary name, fsynced, renamed over the
 * old one and the directory fsynced: after a crash a file is either the old version or the new,
 * never half of one. Synchronous on purpose: the listener answers 250 only after `write` returns.
 */
export class Spool {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  fileOf(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  write(item: SpooledItem): void {
    const stored: Stored = {
      version: 1,
      ...item,
      raw: item.raw.toString('base64'),
      enqueuedAt: item.enqueuedAt.toISOString(),
      nextAttemptAt: item.nextAttemptAt.toISOString(),
    };
    const temp = join(this.dir, `.${item.id}.${process.pid}.tmp`);
    const fd = openSync(temp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(stored));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, this.fileOf(item.id));
    this.syncDir();
  }

  remove(id: string): void {
    try {
      unlinkSync(this.fileOf(id));
      this.syncDir();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /** Every item a previous run left; unreadable files are reported, not fatal, so one bad file loses nothing else. */
  load(): { items: SpooledItem[]; problems: string[] } {
    const items: SpooledItem[] = [];
    const problems: string[] = [];
    for (const name of readdirSync(this.dir).sort()) {
      if (!FILE.test(name)) continue;
      try {
        const s = JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as Stored;
        if (s.version !== 1) throw new Error(`unknown spool version ${String(s.version)}`);
        items.push({ ...s, raw: Buffer.from(s.raw, 'base64'), enqueuedAt: new Date(s.enqueuedAt), nextAttemptAt: new Date(s.nextAttemptAt) });
      } catch (err) {
        problems.push(`${name}: ${(err as Error).message}`);
      }
    }
    return { items, problems };
  }

  private syncDir(): void {
    // The rename itself is durable only once the directory entry is on disk.
    let fd: number | undefined;
    try {
      fd = openSync(this.dir, 'r');
      fsyncSync(fd);
    } catch {
      // Some file systems refuse fsync on a directory; the file's own fsync still holds.
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}
