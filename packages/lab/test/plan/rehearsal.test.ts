import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadPlanFile, rehearse, type RehearsalResult } from '@relaylab/lab';

/** Plans rehearsed on embedded labs, over real SMTP and TLS on loopback. */

const plansDir = resolve(__dirname, '../../../../scenarios/plans');
const topologies = resolve(__dirname, '../../../../scenarios/topologies');
const certsDir = mkdtempSync(join(tmpdir(), 'relaylab-rehearsal-'));
const results = new Map<string, RehearsalResult>();

beforeAll(async () => {
  for (const f of readdirSync(plansDir).filter((x) => x.endsWith('.yaml'))) {
    const plan = loadPlanFile(join(plansDir, f));
    results.set(plan.name, await rehearse(plan, { certsDir }));
  }
}, 180_000);

const failuresOf = (r: RehearsalResult) =>
  r.checkpoints.flatMap((c) => c.failures.map((f) => `${c.name}: ${f.check}: expected ${f.expected}, got ${f.actual}`));

test('every bundled plan passes, every message accounted for', () => {
  const report = [...results.values()].filter((r) => !r.passed).map((r) => `${r.plan}: ${r.error ?? ''} ${failuresOf(r).join('; ')}`);
  expect(report).toEqual([]);
  for (const r of results.values()) {
    const a = r.accounting;
    expect(a.lost).toBe(0);
    expect(a.delivered + a.returned + a.deleted + a.handedOff + a.queued).toBe(a.submitted);
    expect(r.messages).toHaveLength(a.submitted);
  }
});

test('MX flip, TTL not lowered and port 25 locked down inside the tail: Internet mail bounces with 554 5.7.1 until the cached MX expires', () => {
  const r = results.get('mx-flip-lockdown-too-soon')!;
  const returned = r.messages.filter((m) => m.state === 'returned');
  expect(returned.length).toBeGreaterThan(0);
  for (const m of returned) {
    expect(m.submittedAtMs).toBeGreaterThanOrEqual((2 * 60 + 20) * 60_000);
    expect(m.submittedAtMs).toBeLessThan(3 * 3600_000);
    expect(m.story).toMatch(/554 5\.7\.1/);
  }
  // the right plan loses nothing
  expect(results.get('mx-flip-to-exchange-online')!.accounting.returned).toBe(0);
});

test("the X-OriginatorOrg rule with MX at a filter deletes Internet mail from the change on; scoped to EOP, only the other tenant's", () => {
  const deletedIn = (plan: string) =>
    results
      .get(plan)!
      .messages.filter((m) => m.state === 'deleted')
      .map((m) => [m.direction, m.submittedAtMs >= 2 * 3600_000]);
  const naive = deletedIn('x-originatororg-rule-mx-at-filter');
  expect(naive.filter(([d]) => d === 'internet-to-onprem')).toHaveLength(12);
  expect(naive.every(([, afterChange]) => afterChange)).toBe(true);
  expect(deletedIn('x-originatororg-rule-scoped-to-eop')).toEqual(Array(4).fill(['other-tenant', true]));
});

test("connectors updated before the certificate: the right order's checkpoints fail, naming the deferred and reclassified messages", async () => {
  const wrong = loadPlanFile(join(plansDir, 'hybrid-connectors-updated-before-cert.yaml'));
  const right = loadPlanFile(join(plansDir, 'hybrid-cert-renewed-then-connectors.yaml'));
  const r = await rehearse({ ...wrong, checkpoints: right.checkpoints }, { certsDir });
  expect(r.passed).toBe(false);
  const between = r.checkpoints.find((c) => c.name === 'new certificate, connectors not yet updated')!;
  const checks = between.failures.map((f) => f.check);
  expect(checks).toEqual(expect.arrayContaining(['deferred', 'onprem-to-cloud: authAs', 'cloud-to-onprem: delivered']));
  const deferred = between.failures.find((f) => f.check === 'cloud-to-onprem: delivered')!;
  expect(deferred.messages.length).toBeGreaterThan(0);
  for (const m of deferred.messages) expect(m.story).toMatch(/450 4\.7\.320/);
  expect(between.failures.find((f) => f.check === 'onprem-to-cloud: authAs')!.actual).toMatch(/^Anonymous for \d+ of \d+ delivered$/);
  // once the certificate is in, everything drains: nothing lost, nothing left queued
  expect(r.accounting).toMatchObject({ lost: 0, queued: 0, returned: 0 });
}, 60_000);

test('accounting: a node down for an hour holds mail queued (never lost), which drains when it is back', async () => {
  const file = join(certsDir, 'outage.yaml');
  writeFileSync(
    file,
    `topology: ${topologies}/hybrid.yaml
duration: 3h
traffic:
  cloud-to-onprem: { from: eop, to: alice@contoso.example, every: 10m }
  onprem-to-cloud: { from: onprem, to: carol@contoso.example, perHour: 4 }
timeline:
  - { at: 1h, down: onprem }
  - { at: 2h, up: onprem, drainsWithin: 30m }
checkpoints:
  - at: 59m
    queued: 0
    directions:
      cloud-to-onprem: { delivered: 100% }
  - at: 1h55m
    queued: 10
    directions:
      cloud-to-onprem: { delivered: "<= 0%", deferred: ">= 1" }
  - at: 3h
    queued: 0
    bounced: 0
    directions:
      cloud-to-onprem: { delivered: 100%, maxDelay: 1h }
`,
  );
  const r = await rehearse(loadPlanFile(file), { certsDir });
  expect(failuresOf(r)).toEqual([]);
  expect(r.passed).toBe(true);
  // 18 cloud → on premises and 12 the other way; those submitted on premises while it was down wait in its queue
  expect(r.accounting.submitted).toBe(30);
  expect(r.accounting.lost).toBe(0);
  expect(r.messages.filter((m) => m.direction === 'cloud-to-onprem' && m.deferred).map((m) => m.submittedAtMs / 60_000)).toEqual([60, 70, 80, 90, 100, 110]);
  expect(r.checkpoints[1]!.interval).toMatchObject({ messages: 10, delivered: 0, queued: 10 });
  // drainsWithin: a checkpoint of its own at 2h30m, which does not cut the interval of the one at 3h
  expect(r.checkpoints.map((c) => [c.name, c.atMs / 60_000, c.interval.fromMs / 60_000, c.passed])).toEqual([
    ['at 59m', 59, 0, true],
    ['at 1h55m', 115, 59, true],
    ['queued mail drains within 30m of "up onprem"', 150, 115, true],
    ['at 3h', 180, 115, true],
  ]);
  // and it fails when the queue takes longer: Exchange Online retries on its own schedule, not at once
  writeFileSync(file, readFileSync(file, 'utf8').replace('drainsWithin: 30m', 'drainsWithin: 1m'));
  const quick = await rehearse(loadPlanFile(file), { certsDir });
  const drained = quick.checkpoints.find((c) => c.name.startsWith('queued mail drains within 1m'))!;
  expect(drained.passed).toBe(false);
  expect(drained.failures[0]!.check).toBe('queued');
  expect(new Set(drained.failures[0]!.messages.map((m) => m.direction))).toEqual(new Set(['cloud-to-onprem']));
}, 60_000);

test('a certificate revoked mid-run: Exchange Online defers to on premises and takes its mail as Anonymous from then on', async () => {
  const file = join(certsDir, 'revoke.yaml');
  writeFileSync(
    file,
    `topology: ${topologies}/hybrid.yaml
duration: 2h
traffic:
  cloud-to-onprem: { from: eop, to: alice@contoso.example, every: 10m }
  onprem-to-cloud: { from: onprem, to: carol@contoso.example, every: 10m }
timeline:
  - { at: 1h, certificate: { name: onprem, revoked: true } }
checkpoints:
  - { at: 1h, deferred: 0, directions: { onprem-to-cloud: { authAs: Internal } } }
  - { at: 2h, queued: 6, directions: { cloud-to-onprem: { delivered: "<= 0%", deferred: 6 }, onprem-to-cloud: { delivered: 100%, authAs: Anonymous } } }
`,
  );
  const plan = loadPlanFile(file);
  expect(plan.timeline[0]).toMatchObject({ kind: 'topology', nodes: Object.keys(plan.topology.nodes) });
  const r = await rehearse(plan, { certsDir });
  expect(failuresOf(r)).toEqual([]);
  for (const m of r.messages.filter((x) => x.state === 'queued')) expect(m.story).toMatch(/revoked/i);
}, 60_000);

test('a node remade by a change keeps the faults switched on before it: they are the world, not its configuration', async () => {
  const file = join(certsDir, 'fault-survives.yaml');
  writeFileSync(
    file,
    `topology: ${topologies}/hybrid.yaml
duration: 2h
traffic:
  cloud-to-onprem: { from: eop, to: alice@contoso.example, every: 10m }
timeline:
  - { at: 1h, fail: { node: onprem, command: RCPT, reply: "451 4.3.2 System not accepting network messages" } }
  - { at: 1h30m, add: { node: onprem, transportRule: { Name: Tag, SetHeaderName: X-Tag, SetHeaderValue: rehearsal } } }
  - { at: 2h, heal: onprem }
checkpoints:
  - { at: 1h, deferred: 0 }
  - { at: 2h, directions: { cloud-to-onprem: { delivered: "<= 0%", deferred: 6 } } }
  - { at: 2h30m, queued: 0 }
`,
  );
  const plan = loadPlanFile(file);
  expect(plan.timeline[1]).toMatchObject({ kind: 'topology', nodes: ['onprem'] });
  const r = await rehearse(plan, { certsDir });
  expect(failuresOf(r)).toEqual([]);
}, 60_000);
