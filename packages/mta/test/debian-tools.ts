import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The real programs the tests run, each with the Debian package that carries it. A missing one
 * fails its test naming the package to install, not with `spawn swaks ENOENT`.
 * (Shared by the mta, report and cli tests: each package may use what a package before it has.)
 */
const PACKAGES = {
  swaks: 'swaks',
  openssl: 'openssl',
  dig: 'dnsutils',
  'docker-compose': 'docker-compose',
  chromium: 'chromium',
} as const;

export type DebianTool = keyof typeof PACKAGES;

/** The full path of `command` on PATH; throws an error that names the Debian package when it is missing. */
export function tool(command: DebianTool): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(
    `${command} is not installed, and this test runs it: install Debian's ${PACKAGES[command]} package ` +
      `(apt-get install ${PACKAGES[command]}), or run scripts/test-debian.sh, which installs every tool the tests use and then runs them`,
  );
}
