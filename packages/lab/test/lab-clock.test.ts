import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { VirtualClock, type DsnEvent, type TraceEvent } from '@relaylab/core';
import { fateOf, Lab, loadScenarioFile, loadTopologyFile, runScenario } from '@relaylab/lab';

const certsDir = mkdtempSync(join(tmpdir(), 'relaylab-clock-'));
const topology = loadTopologyFile(resolve(__dirname, '../../../scenarios/topologies/hybrid.yaml'));
const HOUR = 3_600_000;
let lab: Lab | undefined;
afterEach(async () => {
  await lab?.stop();
  lab = undefined;
});

const send = (l: Lab, id: string) =>
  l.submit('tailspin', {
    from: 'tom@tailspin.example',
    to: ['alice@contoso.example'],
    raw: Buffer.from(`From: tom@tailspin.example\r\nTo: alice@contoso.example\r\nMessage-ID: <${id}@tailspin.example>\r\nSubject: ${id}\r\n\r\nhello\r\n`),
  });
const mine = (l: Lab, id: string) =>
  l.trace.events.filter((e): e is TraceEvent & { messageId: string } => 'messageId' in e && e.messageId === `<${id}@tailspin.example>`);
/** Lab time of an event, in hours after the message was submitted. */
const hoursAfterSubmission = (l: Lab, id: string, e: TraceEvent) => (Date.parse(e.at) - Date.parse(mine(l, id).find((x) => x.type === 'submitted')!.at)) / HOUR;

test('advance: 30h in one call, on premises down: Exchange Online bounces at its 24-hour expiry after a retry every 15 minutes', async () => {
  lab = await Lab.start(topology, { certsDir });
  await lab.down('onprem');
  send(lab, 'held');
  expect(await lab.advance(30 * HOUR)).toBe(true);

  const fate = fateOf(lab.trace.events, '<held@tailspin.example>', 'alice@contoso.example', (ip, port) => lab!.nodeAt(ip, port));
  expect(fate).toMatchObject({ state: 'bounced', node: 'eop' });
  expect(fate.reply).toMatch(/^550 4\.4\.7 QUEUE\.Expired/);
  const bounced = mine(lab, 'held').find((e) => e.type === 'bounced')!;
  // at the expiry itself, not at the end of the advance (30 h) nor at some retry after it
  expect(Math.abs(hoursAfterSubmission(lab, 'held', bounced) - 24)).toBeLessThan(1 / 60);
  // 0 h, 0:15, …, 23:45: each attempt at its own time, every one refused
  const deferrals = mine(lab, 'held').filter((e) => e.type === 'deferred' && e.node === 'eop');
  expect(deferrals).toHaveLength(96);
  const gaps = deferrals.slice(1).map((d, i) => (Date.parse(d.at) - Date.parse(deferrals[i]!.at)) / 60_000);
  expect(Math.min(...gaps)).toBeGreaterThanOrEqual(15);
  expect(Math.max(...gaps)).toBeLessThan(15.1);
  // the NDR reached the sender
  expect(
    lab
      .node('tailspin')
      .mailboxes.get('tom@tailspin.example')
      .some((m) => /Subject: Undeliverable: held/.test(m.raw.toString())),
  ).toBe(true);
});

test('a node back up at 20 h is reached by the next retry after 20 h, not at the end of the advance', async () => {
  lab = await Lab.start(topology, { certsDir });
  await lab.down('onprem');
  send(lab, 'back');
  expect(await lab.advance(20 * HOUR)).toBe(true);
  await lab.up('onprem');
  expect(await lab.advance(4 * HOUR)).toBe(true);

  const delivered = mine(lab, 'back').filter((e) => e.type === 'delivered');
  expect(delivered).toHaveLength(1);
  const up = lab.trace.events.find((e) => e.type === 'fault' && e.fault === 'up')!;
  expect(hoursAfterSubmission(lab, 'back', up)).toBeGreaterThanOrEqual(20);
  // the first retry after the node came back (retries are 15 minutes apart), at its own time
  const minutesAfterUp = (Date.parse(delivered[0]!.at) - Date.parse(up.at)) / 60_000;
  expect(minutesAfterUp).toBeGreaterThanOrEqual(0);
  expect(minutesAfterUp).toBeLessThanOrEqual(15);
  expect(mine(lab, 'back').filter((e) => e.type === 'deferred' && Date.parse(e.at) > Date.parse(up.at))).toEqual([]);
});

test('a message still queued after 4 hours: the sender gets one delay DSN (Action: delayed), then at expiry the NDR', async () => {
  lab = await Lab.start(topology, { certsDir });
  await lab.down('onprem');
  send(lab, 'slow');
  expect(await lab.advance(5 * HOUR)).toBe(true);

  const notices = lab.trace.events.filter((e): e is DsnEvent => e.type === 'dsn' && e.messageId === '<slow@tailspin.example>');
  expect(notices.map((n) => [n.node, n.action, n.to])).toEqual([['eop', 'delayed', 'tom@tailspin.example']]);
  expect(Math.abs(hoursAfterSubmission(lab, 'slow', notices[0]!) - 4)).toBeLessThan(1 / 60);
  const inbox = lab.node('tailspin').mailboxes.get('tom@tailspin.example');
  expect(inbox).toHaveLength(1);
  const text = inbox[0]!.raw.toString();
  expect(inbox[0]!.from).toBe('');
  expect(text).toMatch(/^Subject: Delivery delayed: slow$/m);
  expect(text).toMatch(/^Content-Type: multipart\/report; report-type=delivery-status/m);
  expect(text).toMatch(/^Final-Recipient: rfc822; alice@contoso\.example\r\nAction: delayed\r\nStatus: 4\.4\.316\r\n/m);
  expect(text).toMatch(/^Will-Retry-Until: /m);

  // once: more time passes, no second notice; the expiry brings the NDR
  expect(await lab.advance(20 * HOUR)).toBe(true);
  expect(lab.trace.events.filter((e) => e.type === 'dsn' && e.messageId === '<slow@tailspin.example>').map((e) => (e as DsnEvent).action ?? 'failed')).toEqual([
    'delayed',
    'failed',
  ]);
});

test('the delay DSN is remembered in the spool: a node restarted on it does not tell the sender twice', async () => {
  const spoolDir = mkdtempSync(join(tmpdir(), 'relaylab-clock-spool-'));
  const clock = new VirtualClock();
  lab = await Lab.start(topology, { certsDir, spoolDir, clock });
  await lab.down('onprem');
  send(lab, 'restart');
  expect(await lab.advance(5 * HOUR)).toBe(true);
  const notices = (l: Lab) => l.trace.events.filter((e) => e.type === 'dsn' && e.messageId === '<restart@tailspin.example>');
  expect(notices(lab)).toHaveLength(1);
  await lab.stop();

  // The same lab clock goes on; the restored item keeps its retry time and its notice.
  lab = await Lab.start(topology, { certsDir, spoolDir, clock });
  await lab.down('onprem');
  expect(lab.trace.events.filter((e) => e.type === 'restored')).toHaveLength(1);
  expect(await lab.advance(10 * HOUR)).toBe(true);
  expect(notices(lab)).toEqual([]);
  expect(lab.trace.events.filter((e) => e.type === 'deferred' && e.node === 'eop').length).toBeGreaterThanOrEqual(39);
});

describe('at:, retries and delayNotice in a scenario', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-clock-scenarios-'));
  const topologyFile = resolve(__dirname, '../../../scenarios/topologies/hybrid.yaml');
  const scenario = (expect: string) => {
    const file = join(dir, `s${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(
      file,
      `name: clock\ntopology: ${topologyFile}\nmessages:\n  - { id: m1, from: tom@tailspin.example, to: [alice@contoso.example], via: tailspin }\nsteps:\n  - down: onprem\n  - send: m1\n  - advance: 25h\nexpect:\n  - { message: m1, state: bounced, ${expect} }\n`,
    );
    return loadScenarioFile(file);
  };

  test('a wrong time, retry count or delay notice fails with what the lab clock saw', async () => {
    const result = await runScenario(scenario('at: 30h, retries: 1, delayNotice: { at: 5h }, ndr: { at: { after: 25h } }'), { certsDir });
    expect(result.failures.map((f) => [f.field, f.expected, typeof f.actual === 'string' ? f.actual.replace(/ \(lab time .*\)$/, '') : f.actual])).toEqual([
      ['ndr.at', '25h or later after submission', expect.stringMatching(/^\+24h00m0\ds$/)],
      ['at', '30h after submission (within 1 minute)', expect.stringMatching(/^\+24h00m0\ds$/)],
      ['retries', 1, 96],
      ['delayNotice.at', '5h after submission (within 1 minute)', expect.stringMatching(/^\+4h00m0\ds$/)],
    ]);
  });

  test('the same expectations, right, pass; delayNotice: false fails when one was sent', async () => {
    const right = await runScenario(scenario('at: 24h, retries: 96, delayNotice: { at: 4h }, ndr: { at: { after: 23h59m, before: 24h01m } }'), { certsDir });
    expect(right.failures).toEqual([]);
    const none = await runScenario(scenario('delayNotice: false'), { certsDir });
    expect(none.failures.map((f) => [f.field, f.expected])).toEqual([['delayNotice', 'no delay DSN']]);
  });

  test("a node's own Set-TransportService timeouts: delay DSN at 1 h, expiry at 3 h", async () => {
    const file = join(dir, 'transport-service.yaml');
    writeFileSync(
      file,
      `name: clock-ts\ntopology: ${topologyFile}\npatch:\n  nodes:\n    eop: { transportService: { DelayNotificationTimeout: "01:00:00", MessageExpirationTimeout: "03:00:00" } }\nmessages:\n  - { id: m1, from: tom@tailspin.example, to: [alice@contoso.example], via: tailspin }\nsteps:\n  - down: onprem\n  - send: m1\n  - advance: 5h\nexpect:\n  - { message: m1, state: bounced, node: eop, at: 3h, retries: 12, delayNotice: { at: 1h }, ndr: { at: 3h } }\n`,
    );
    const result = await runScenario(loadScenarioFile(file), { certsDir });
    expect(result.error).toBeUndefined();
    expect(result.failures).toEqual([]);
    writeFileSync(
      file,
      `name: clock-ts\ntopology: ${topologyFile}\npatch:\n  nodes:\n    eop: { transportService: { DelayNotificationTimeout: "31.00:00:00" } }\nmessages:\n  - { id: m1, from: tom@tailspin.example, to: [alice@contoso.example], via: tailspin }\nexpect:\n  - { message: m1, state: delivered }\n`,
    );
    expect(() => loadScenarioFile(file)).toThrow(/DelayNotificationTimeout "31\.00:00:00" must be a time span from 00:00:01 to 30\.00:00:00/);
  });

  test('a malformed time is refused before the lab starts', () => {
    expect(() => scenario('at: { after: soon }')).toThrow(/expect\[0\]\.at\.after: expected a duration such as 90s, 15m, 4h, 2d or 20h15m; found "soon"/);
    expect(() => scenario('ndr: { at: { after: 25h, before: 20h } }')).toThrow(
      /expect\[0\]\.ndr\.at: after \(25h\) is later than before \(20h\): no moment is in this window/,
    );
  });
});
