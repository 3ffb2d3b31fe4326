import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { QueueItem } from './queue';
import { parseStoredItem, toStored } from './spool-item';
import { sweepTempFiles, syncDir, writeFileAtomic } from './atomic-files';

/** The spool keeps queue items whole: enough to carry on after the process died. */
export type SpooledItem = QueueItem;

const FILE = /^([A-Za-z0-9_-]+)\.json$/;

/** What loading a spool found besides good items: each bad file was moved to `corrupt/`. */
export interface SpoolProblem {
  file: string;
  reason: string;
  movedTo: string;
}

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

  get corruptDir(): string {
    return join(this.dir, 'corrupt');
  }

  write(item: SpooledItem): void {
    writeFileAtomic(this.fileOf(item.id), JSON.stringify(toStored(item)));
  }

  remove(id: string): void {
    try {
      unlinkSync(this.fileOf(id));
      syncDir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /**
   * Every item a previous run left. A file that does not hold a valid item is moved to
   * `corrupt/` (kept for a person to look at, never retried) and reported; the others load. Temp
   * files of a write that a crash cut short are removed: the rename never happened, so the item's
   * previous version, or none if the 250 was never sent, is the truth.
   */
  load(): { items: SpooledItem[]; problems: SpoolProblem[]; sweptTemps: string[] } {
    const sweptTemps = sweepTempFiles(this.dir);
    const items: SpooledItem[] = [];
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
