import { closeSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** `.<name>.<pid>.tmp`: what an atomic write leaves behind if the process dies before the rename. */
export const TEMP_FILE = /^\..+\.(\d+)\.tmp$/;

const tempName = (name: string) => `.${name}.${process.pid}.tmp`;

/**
 * Writes a file so that after a crash it is either absent (or its previous version) or whole:
 * a temp file in the same folder, fsynced, renamed over the name, the folder fsynced. Never a
 * 0-byte or half-written file under the real name.
 */
export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o600): void {
  const dir = dirname(file);
  const temp = join(dir, tempName(basename(file)));
  const fd = openSync(temp, 'w', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
  syncDir(dir);
}

/**
 * writeFileAtomic off the event loop, without the folder's fsync: a caller writing many files at
 * once (the spool's group commit) fsyncs the folder once for all of them (syncDirAsync).
 */
export async function writeFileAtomicAsync(file: string, data: Buffer, mode = 0o600): Promise<void> {
  const temp = join(dirname(file), tempName(basename(file)));
  const handle = await open(temp, 'w', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
}

/** Removes a file; one already gone is no error. */
export async function unlinkIfPresent(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** syncDir off the event loop. */
export async function syncDirAsync(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the file's own fsync still holds.
  } finally {
    await handle?.close();
  }
}

/** A rename or unlink is durable only once the folder's entry is on disk. */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the file's own fsync still holds.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temp files in `dir` that no running process is still writing. It runs before this
 * process writes any (a spool is swept when it is loaded, at start), so one with this process's
 * pid is a leftover of an earlier process that had the same pid (a container restarted).
 * Returns the names removed.
 */
export function sweepTempFiles(dir: string): string[] {
  const swept: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return swept;
  }
  for (const name of names) {
    const m = TEMP_FILE.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    try {
      unlinkSync(join(dir, name));
      swept.push(name);
    } catch {
      // Removed meanwhile by another sweeper: nothing left to do.
    }
  }
  return swept;
}
