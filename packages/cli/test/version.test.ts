import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN } from './process-spawn';
import { run } from './run-cli';

const { version } = JSON.parse(readFileSync(join(__dirname, '../package.json'), 'utf8')) as { version: string };

test.each(['--version', '-V'])('relaylab %s prints the CLI package version alone and exits 0', async (flag) => {
  const r = await run([flag]);
  expect(r).toEqual({ code: 0, out: `${version}\n`, err: '' });
});

test('the built command prints the same version (bin → dist, as an installed package runs it)', () => {
  expect(execFileSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' })).toBe(`${version}\n`);
});

test('help lists --version', async () => {
  expect((await run(['--help'])).out).toMatch(/relaylab --version, -V +print relaylab's version/);
});
