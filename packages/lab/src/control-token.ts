import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The control token's file name in the lab's certificate folder. */
export const CONTROL_TOKEN_NAME = 'control-token';

/**
 * Where a lab's control token lives by default: beside its certificates, the one folder every
 * part of a lab already shares (the runner and each node process; under docker-compose the
 * `certs` volume that every service mounts), and one that holds secrets already (CA keys).
 */
export function controlTokenFile(certsDir: string): string {
  return join(certsDir, CONTROL_TOKEN_NAME);
}

const TOKEN = /^[A-Za-z0-9_-]{32,256}$/;

/**
 * The lab's control token from `file`, made first if there is none: 32 random bytes, mode 0600.
 *
 * Whoever comes first (a node, the runner) makes it and the rest read it, so processes started
 * side by side agree without an order: the token is written to a file of this process's own and
 * then hard-linked into place, which fails for all but one and never shows a half-written token.
 * A token file that other users may read is refused, as ssh refuses such a key: whoever can read
 * it can drive the lab.
 */
export function ensureControlToken(file: string): string {
  try {
    return readControlToken(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const mine = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(mine, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(mine, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(mine);
  }
  return readControlToken(file);
}

/** The token in `file`; an error that says what is wrong with the file otherwise. */
export function readControlToken(file: string): string {
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) {
    throw new Error(`control token file ${file} can be read by other users (mode ${mode.toString(8).padStart(4, '0')}); chmod 600 it`);
  }
  const token = readFileSync(file, 'utf8').trim();
  if (!TOKEN.test(token)) throw new Error(`control token file ${file} does not hold a token (32 or more characters of A-Z a-z 0-9 _ -)`);
  return token;
}
