import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePortBase, startRelaylab, type Running } from './process-spawn';
import { repo, run } from './run-cli';

/**
 * `relaylab load --web` against a `relaylab up` running as a child process: the messages enter it
 * over SMTP (or its API's send action), and every one is accounted for in the state the running
 * lab gave it, read back through its API.
 */

const HYBRID = 'scenarios/topologies/hybrid.yaml';
const ADDRESSES = ['127.0.0.10', '127.0.0.20', '127.0.0.30', '127.0.0.40', '127.0.0.50', '127.0.0.60', '127.0.0.61'];
const dir = mkdtempSync(join(tmpdir(), 'relaylab-load-remote-'));
const certs = join(dir, 'certs');
let up: Running;
let web: string;

interface Summary {
  messages: number;
  lab: { web: string; name: string; entry: string };
  accounting: { sent: number; delivered: number; bounced: number; refused: number; deleted: number; queued: number; lost: number };
  hops: Array<{ hop: string; count: number; p50: number; p95: number; p99: number }>;
  queuePeak: Record<string, number>;
  refusals: Record<string, number>;
  peakRssBytes: number;
  rssOf: string;
}

beforeAll(async () => {
  // eop and eop-woodgrove share 127.0.0.20: one port apart
  const port = await freePortBase(ADDRESSES, [0, 1]);
  up = startRelaylab(['up', HYBRID, '--port', String(port), '--web-port', '0', '--out', join(dir, 'out'), '--certs', certs]);
  await up.waitFor(/nodes ready; Ctrl-C stops the lab/, 60_000);
  web = /web: http:\/\/(127\.0\.0\.1:\d+)\/login/.exec(up.stdout())![1]!;
}, 70_000);

afterAll(async () => {
  await up?.stop();
});

const mixFile = (paths: object[]) => {
  const file = join(mkdtempSync(join(dir, 'mix-')), 'mix.json');
  writeFileSync(file, JSON.stringify(paths));
  return file;
};

test('over SMTP: delivered, bounced by the next hop, and refused by the node it was sent to, each counted; hops and the lab’s RSS', async () => {
  const mix = mixFile([
    // onprem takes mail for its accepted domain from any client and sends it on to EOP, where carol's mailbox is
    { from: 'onprem', to: 'carol@contoso.example', weight: 2 },
    // EOP takes it; on premises, the next hop, refuses the unknown recipient: an NDR
    { from: 'eop', to: 'nobody@contoso.example', weight: 1 },
    // an Internet server does not relay for an anonymous client: 550 5.7.54 at RCPT TO
    { from: 'tailspin', to: 'alice@contoso.example', weight: 1 },
  ]);
  const r = await run(['load', HYBRID, '--web', web, '--certs', certs, '--mix', mix, '--messages', '12', '--concurrency', '4', '--json']);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  const s = JSON.parse(r.out) as Summary;
  expect(s.lab).toEqual({ web, name: 'hybrid', entry: 'smtp' });
  expect(s.accounting).toEqual({ sent: 12, delivered: 6, bounced: 3, refused: 3, deleted: 0, queued: 0, lost: 0 });
  expect(s.refusals).toEqual({ '550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain': 3 });
  expect(s.hops.map((h) => [h.hop, h.count])).toEqual([['onprem→eop', 6]]);
  for (const h of s.hops) expect(h.p50 <= h.p95 && h.p95 <= h.p99 && h.p50 > 0).toBe(true);
  expect(Object.keys(s.queuePeak)).toEqual(['onprem', 'eop', 'eop-woodgrove', 'fabrikam', 'gateway', 'tailspin', 'printer', 'rogue']);
  // the memory is the running lab's, not this test's
  expect(s.rssOf).toBe(`relaylab up (pid ${up.child.pid}), sampled every 100 ms`);
  expect(s.peakRssBytes).toBeGreaterThan(20 * 1024 * 1024);
}, 90_000);

test('through the API’s send action, as users of the node: the summary as text, a bounce for a domain with no MX', async () => {
  const mix = mixFile([
    { from: 'onprem', to: 'carol@contoso.example', weight: 1 },
    { from: 'onprem', to: 'someone@elsewhere.invalid', weight: 1 },
  ]);
  const r = await run(['load', '--web', web, '--certs', certs, '--mix', mix, '--messages', '6', '--concurrency', '3', '--via', 'api']);
  expect(r.err).toBe('');
  expect(r.out).toMatch(/^6 messages of 2048 bytes, 3 in flight, in [\d.]+ s: \d+ msg\/s$/m);
  expect(r.out).toMatch(/^ {2}onprem→eop +n=3 +p50 +[\d.]+ ms/m);
  expect(r.out).toContain('final state: 3 delivered, 3 bounced, 0 refused, 0 deleted, 0 still queued, 0 lost (of 6)');
  expect(r.out).toMatch(/^peak RSS: \d+ MB of relaylab up \(pid \d+\), sampled every 100 ms$/m);
  expect(r.code).toBe(0);
}, 90_000);

test('with the next hop down, what waits in a queue is counted still queued (asked of the lab), and the exit code is 1', async () => {
  const token = readFileSync(join(certs, 'control-token'), 'utf8').trim();
  const post = (path: string) =>
    fetch(`http://${web}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
  expect((await post('/api/nodes/eop/down')).status).toBe(200);
  try {
    const r = await run(['load', '--web', web, '--certs', certs, '--from', 'onprem', '--to', 'carol@contoso.example', '--messages', '3', '--json']);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.out) as Summary).accounting).toEqual({ sent: 3, delivered: 0, bounced: 0, refused: 0, deleted: 0, queued: 3, lost: 0 });
  } finally {
    await post('/api/nodes/eop/up');
    await post('/api/nodes/onprem/queues/retry');
  }
}, 60_000);

test('a wrong token, no lab at the address, or a topology the lab is not: one clear line and exit 2', async () => {
  const args = ['--from', 'onprem', '--to', 'carol@contoso.example', '--messages', '2'];
  const wrong = mkdtempSync(join(dir, 'wrong-'));
  writeFileSync(join(wrong, 'control-token'), 'not-the-labs-token-0123456789abcdefghijkl\n');
  chmodSync(join(wrong, 'control-token'), 0o600);
  const refused = await run(['load', '--web', web, '--certs', wrong, ...args]);
  expect(refused).toEqual({ code: 2, out: '', err: expect.stringMatching(/^relaylab load: GET \/api\/lab: 401 missing or wrong token/) });

  // a port nobody listens on: taken and let go
  const free = await new Promise<number>((done) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });
  const nobody = await run(['load', '--web', `127.0.0.1:${free}`, '--certs', certs, ...args]);
  expect(nobody.code).toBe(2);
  expect(nobody.err).toMatch(
    new RegExp(`^relaylab load: no relaylab web API answers at 127\\.0\\.0\\.1:${free} \\(.*ECONNREFUSED.*\\); is \`relaylab up\` running\\?\\n$`),
  );

  const noToken = await run(['load', '--web', web, '--certs', join(dir, 'none'), ...args]);
  expect(noToken.code).toBe(2);
  expect(noToken.err).toMatch(/^relaylab load: no control token at .*none\/control-token: give the --certs of the running lab/);

  const other = await run(['load', join(repo, 'scenarios/topologies/edge.yaml'), '--web', web, '--certs', certs, ...args]);
  expect(other.code).toBe(2);
  expect(other.err).toMatch(/^relaylab load: the lab at 127\.0\.0\.1:\d+ \(hybrid\) is not .*edge\.yaml: it has no node edge \(its nodes: onprem, eop,/);
}, 60_000);
