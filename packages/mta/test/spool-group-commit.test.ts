import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool, type SpooledItem } from '@relaylab/mta';

const route = {
  connector: 'Default',
  kind: 'Default' as const,
  domains: ['*'],
  smartHosts: [],
  ignoreStartTls: false,
  intraOrganization: false,
  cloudServicesMailEnabled: false,
  tls: { requirement: 'Opportunistic' as const, settingName: 'default' },
};

const item = (id: string, text = 'hello'): SpooledItem => ({
  id,
  messageId: `<${id}@a.example>`,
  from: 's@a.example',
  recipients: ['r@b.example'],
  raw: Buffer.from(`Subject: ${text}\r\n\r\n${text}\r\n`),
  route,
  nextHop: 'mx.b.example',
  enqueuedAt: new Date(),
  attempts: 0,
  nextAttemptAt: new Date(),
});

const files = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.json'));

test('what durable() promised is on disk when it resolves: every item written in one batch, the latest version of each', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-group-'));
  const spool = new Spool(dir);
  for (let i = 0; i < 20; i++) spool.write(item(`A${i}`));
  spool.write(item('A3', 'second version'));
  expect(spool.isIdle()).toBe(false);
  await spool.durable();
  expect(files(dir).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `A${i}.json`).sort());
  expect(JSON.parse(readFileSync(join(dir, 'A3.json'), 'utf8')).raw).toBe(item('A3', 'second version').raw.toString('base64'));
  expect(spool.isIdle()).toBe(true);
  expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
});

test('an item removed before its batch ran never reaches the disk; one removed later is gone once flushed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-group-'));
  const spool = new Spool(dir);
  spool.write(item('GONE'));
  spool.remove('GONE');
  spool.write(item('KEPT'));
  await spool.durable();
  expect(files(dir)).toEqual(['KEPT.json']);
  spool.remove('KEPT');
  await spool.flush();
  expect(existsSync(join(dir, 'KEPT.json'))).toBe(false);
  expect(spool.load().items).toEqual([]);
});

test('a batch that cannot be written rejects durable(), so the 250 is not sent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-group-'));
  const spool = new Spool(dir);
  // The folder vanished under the node (a disk unmounted, a person cleaning up).
  rmSync(dir, { recursive: true });
  spool.write(item('NOPE'));
  await expect(spool.durable()).rejects.toThrow(/ENOENT/);
  await expect(spool.flush()).rejects.toThrow(/ENOENT/);
  expect(spool.isIdle()).toBe(true);
});

test('batches run side by side, but one that touches an item a running batch holds waits for it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-group-'));
  const spool = new Spool(dir);
  const tick = () => new Promise<void>((r) => queueMicrotask(r));
  // A long batch whose last file is SAME: it is written well after the next batch began.
  for (let i = 0; i < 40; i++) spool.write(item(`BULK${i}`));
  spool.write(item('SAME', 'first'));
  await tick();
  // The next batch removes SAME: its unlink must not overtake the rename still to come.
  spool.write(item('OTHER'));
  spool.remove('SAME');
  await tick();
  await spool.flush();
  expect(files(dir).filter((f) => !f.startsWith('BULK'))).toEqual(['OTHER.json']);
  expect(files(dir)).toHaveLength(41);
  expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
});
