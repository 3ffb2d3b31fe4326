import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePortBase, startRelaylab } from './process-spawn';

// `relaylab up` keeps the lab within a heap bound of its own (a worker thread with V8 resource
// limits): a bound too small for the lab stops it with a clear line, never a hang; signals reach the lab.
const topology = 'scenarios/topologies/onprem-hybrid.yaml';
const dir = mkdtempSync(join(tmpdir(), 'relaylab-up-heap-'));
let PORT: number;

beforeAll(async () => {
  PORT = await freePortBase(['127.0.0.10', '127.0.0.20', '127.0.0.60'], [0]);
});

const up = (name: string, ...args: string[]) =>
  startRelaylab(['up', topology, '--out', join(dir, name), '--port', String(PORT), '--certs', join(dir, 'certs'), '--no-web', ...args]);

test('a lab that outgrows its --max-heap is stopped with one line saying so, exit 1', async () => {
  const lab = up('small', '--max-heap', '8');
  expect(await lab.exited).toBe(1);
  expect(lab.stderr().trim().split('\n').pop()).toBe(
    'relaylab up: the lab reached its heap bound of 8 MB and was stopped; mail it answered 250 is in its queue (--out) and resumes on the next start. --max-heap <MB> sets the bound (0: none)',
  );
}, 30_000);

test('--max-heap that is not a size is a usage error, exit 2', async () => {
  const lab = up('bad', '--max-heap', '1GB');
  expect(await lab.exited).toBe(2);
  expect(lab.stderr()).toMatch(/^relaylab up: --max-heap expects a size in MB \(0: no bound\), got "1GB"\n\nUsage: relaylab up/);
});

test('SIGINT reaches the bounded lab: it shuts down cleanly and exits 0', async () => {
  const lab = up('sigint');
  await lab.waitFor(/nodes ready; Ctrl-C stops the lab/, 30_000);
  lab.child.kill('SIGINT');
  expect(await lab.exited).toBe(0);
  expect(lab.stdout()).toMatch(/relaylab up: SIGINT, shutting down\nrelaylab up: stopped; 0 queued message\(s\) written to /);
}, 40_000);

test('with no bound (--max-heap 0) the lab runs as before', async () => {
  const lab = up('unbounded', '--max-heap', '0');
  await lab.waitFor(/nodes ready; Ctrl-C stops the lab/, 30_000);
  expect(await lab.stop()).toBe(0);
}, 40_000);
