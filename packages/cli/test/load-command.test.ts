import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo, run } from './run-cli';

/** `relaylab load` on small runs: every message it sent is accounted for, in the state the lab gave it. */

const certs = mkdtempSync(join(tmpdir(), 'relaylab-load-certs-'));
const hybrid = join(repo, 'scenarios/topologies/hybrid.yaml');

interface Summary {
  messages: number;
  accounting: { sent: number; delivered: number; bounced: number; refused: number; deleted: number; queued: number; lost: number };
  hops: Array<{ hop: string; count: number; p50: number; p95: number; p99: number }>;
  queuePeak: Record<string, number>;
  peakRssBytes: number;
}

test('20 messages Internet → EOP → on premises: all delivered, none lost, latency for both hops', async () => {
  const r = await run([
    'load',
    hybrid,
    '--from',
    'tailspin',
    '--to',
    'alice@contoso.example',
    '--messages',
    '20',
    '--concurrency',
    '5',
    '--certs',
    certs,
    '--json',
  ]);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  const s = JSON.parse(r.out) as Summary;
  expect(s.accounting).toEqual({ sent: 20, delivered: 20, bounced: 0, refused: 0, deleted: 0, queued: 0, lost: 0 });
  expect(s.hops.map((h) => [h.hop, h.count])).toEqual([
    ['tailspin→eop', 20],
    ['eop→onprem', 20],
  ]);
  for (const h of s.hops) expect(h.p50 <= h.p95 && h.p95 <= h.p99 && h.p50 > 0).toBe(true);
  expect(Object.keys(s.queuePeak)).toContain('eop');
  expect(s.peakRssBytes).toBeGreaterThan(0);
}, 60_000);

test('a mix of paths: each message ends in the state its path gives (delivered, or bounced with an NDR by the hop that refused it)', async () => {
  const mix = join(mkdtempSync(join(tmpdir(), 'relaylab-load-mix-')), 'mix.json');
  writeFileSync(
    mix,
    JSON.stringify([
      { from: 'tailspin', to: 'alice@contoso.example', weight: 2 },
      { from: 'tailspin', to: 'not an address@x', weight: 1 },
    ]),
  );
  const bad = await run(['load', hybrid, '--mix', mix, '--messages', '20', '--certs', certs]);
  expect(bad.code).toBe(2);
  expect(bad.err).toContain('"not an address@x" is not an email address');

  writeFileSync(
    mix,
    JSON.stringify([
      { from: 'tailspin', to: 'alice@contoso.example', weight: 2 },
      { from: 'tailspin', to: 'nobody@contoso.example', weight: 1 },
      { from: 'onprem', to: 'someone@elsewhere.invalid', weight: 1 },
    ]),
  );
  const r = await run(['load', hybrid, '--mix', mix, '--messages', '20', '--concurrency', '4', '--certs', certs]);
  expect(r.out).toMatch(/^20 messages of 2048 bytes, 4 in flight, in [\d.]+ s: \d+ msg\/s$/m);
  const state = /final state: (\d+) delivered, (\d+) bounced, (\d+) refused, (\d+) deleted, (\d+) still queued, (\d+) lost \(of 20\)/.exec(r.out);
  expect(state).not.toBeNull();
  const [delivered, bounced, refused, deleted, queued, lost] = state!.slice(1).map(Number);
  // EOP refuses the unknown recipient at RCPT TO; on premises cannot reach elsewhere.invalid (no MX): both NDR.
  expect({ delivered, bounced, refused, deleted, queued, lost }).toEqual({ delivered: 10, bounced: 10, refused: 0, deleted: 0, queued: 0, lost: 0 });
  expect(r.out).toMatch(/peak RSS: \d+ MB/);
  expect(r.code).toBe(0);
}, 90_000);
