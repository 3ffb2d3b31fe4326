import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo, run } from './run-cli';

/** `relaylab rehearse`: the timeline as it goes, a verdict per checkpoint, exit codes as `run`'s. */

const dir = mkdtempSync(join(tmpdir(), 'relaylab-rehearse-cli-'));
const certs = join(dir, 'certs');

function plan(name: string, checkpoints: string): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    `topology: ${repo}/scenarios/topologies/hybrid.yaml
duration: 1h
traffic:
  cloud-to-onprem: { from: eop, to: alice@contoso.example, every: 10m }
timeline:
  - { at: 20m, say: on premises goes down for maintenance, down: onprem }
  - { at: 40m, up: onprem }
checkpoints:
${checkpoints}`,
  );
  return file;
}

test('a plan whose checkpoints hold: the timeline, PASS per checkpoint, exit 0', async () => {
  const file = plan('pass.yaml', `  - { at: 1h, queued: 0, directions: { cloud-to-onprem: { delivered: 100%, deferred: 2 } } }\n`);
  const r = await run(['rehearse', file, '--certs', certs]);
  expect(r.err).toBe('');
  expect(r.out).toContain('00:20  change: on premises goes down for maintenance');
  expect(r.out).toContain('00:40  change: up onprem');
  expect(r.out).toMatch(/^PASS {2}at 1h \(at 1h; since 0s: 6 sent, 6 delivered, 2 deferred, 0 returned, 0 still queued\)$/m);
  expect(r.out).toContain('6 messages: 6 delivered, 0 returned, 0 deleted, 0 handed off, 0 still queued, 0 lost');
  expect(r.code).toBe(0);
}, 60_000);

test('a checkpoint that fails names the messages that broke it, exit 1; --json carries the same verdict', async () => {
  const file = plan('fail.yaml', `  - { at: 30m, name: during maintenance, directions: { cloud-to-onprem: { delivered: 100% } } }\n  - { at: 1h }\n`);
  const r = await run(['rehearse', file, '--certs', certs]);
  expect(r.code).toBe(1);
  expect(r.out).toMatch(/^FAIL {2}during maintenance/m);
  expect(r.out).toContain('cloud-to-onprem: delivered: expected 100%, got 66.7% (2 of 3)');
  expect(r.out).toMatch(/<cloud-to-onprem-2@rehearsal\.relaylab> sent at 20m: eop; queued; last reply .*; 1 deferral/);
  const j = await run(['rehearse', file, '--certs', certs, '--json']);
  expect(j.code).toBe(1);
  const result = JSON.parse(j.out) as { passed: boolean; checkpoints: Array<{ passed: boolean; failures: Array<{ messages: Array<{ messageId: string }> }> }> };
  expect(result.passed).toBe(false);
  expect(result.checkpoints.map((c) => c.passed)).toEqual([false, true]);
  expect(result.checkpoints[0]!.failures[0]!.messages.map((m) => m.messageId)).toEqual(['<cloud-to-onprem-2@rehearsal.relaylab>']);
  expect(result).not.toHaveProperty('trace');
  const html = join(dir, 'fail.html');
  const h = await run(['rehearse', file, '--certs', certs, '--html', html]);
  expect(h.code).toBe(1);
  expect(h.out).toContain(`report: ${html}`);
  expect(readFileSync(html, 'utf8')).toContain('<svg class="over-time" data-direction="cloud-to-onprem"');
}, 60_000);

test('a bad plan is exit 2, with file:line:column and the field', async () => {
  const file = plan('bad.yaml', `  - { at: 1h, directions: { cloud-to-onprme: { delivered: 100% } } }\n`);
  const r = await run(['rehearse', file, '--certs', certs]);
  expect(r.code).toBe(2);
  expect(r.err).toContain(`${file}:9:29: `);
  expect(r.err).toContain('checkpoints[0].directions.cloud-to-onprme: no direction named "cloud-to-onprme" under traffic (did you mean "cloud-to-onprem"?)');
  expect((await run(['rehearse'])).code).toBe(2);
});
