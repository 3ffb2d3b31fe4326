import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DsnEvent, TraceEvent } from '@relaylab/core';
import { fateOf, Lab, loadTopologyFile } from '@relaylab/lab';

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
