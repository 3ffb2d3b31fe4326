import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RefusedEvent, Topology } from '@relaylab/core';
import { Lab } from '@relaylab/lab';
import { Wire } from './wire';

/**
 * A receive connector's limits, with Exchange's parameter names and replies, over real sockets.
 * "Limited" lowers every limit for 127.0.0.216-217 so each can be hit quickly; 127.0.0.218
 * lands on a connector that says nothing and so gets Exchange's defaults.
 */
const many = Array.from({ length: 250 }, (_, i) => `r${i}@c.example`);
const topology: Topology = {
  organizations: { c: { domains: ['c.example'] } },
  nodes: {
    ex: {
      role: 'exchange-server',
      hostname: 'mail.c.example',
      address: '127.0.0.215',
      organization: 'c',
      mailboxes: ['alice@c.example', ...many],
      receiveConnectors: [
        { Name: 'Default Frontend', RemoteIPRanges: ['0.0.0.0-255.255.255.255'], PermissionGroups: ['AnonymousUsers'] },
        {
          Name: 'Limited',
          RemoteIPRanges: ['127.0.0.216', '127.0.0.217'],
          PermissionGroups: ['AnonymousUsers'],
          MaxMessageSize: '64 KB',
          MaxRecipientsPerMessage: 5,
          MaxInboundConnection: 5,
          MaxInboundConnectionPerSource: 3,
          ConnectionTimeout: '00:00:03',
          ConnectionInactivityTimeout: '00:00:01',
        },
      ],
    },
  },
};

let lab: Lab;
const wires: Wire[] = [];
beforeAll(async () => {
  lab = await Lab.start(topology, { certsDir: mkdtempSync(join(tmpdir(), 'relaylab-limits-')) });
});
afterEach(async () => {
  wires.splice(0).forEach((w) => w.close());
  // Closed sessions give their slots back once the server has seen the close.
  await new Promise((r) => setTimeout(r, 100));
});
afterAll(() => lab.stop());

async function open(from: string, greeting = true): Promise<Wire> {
  const w = await Wire.open('127.0.0.215', lab.node('ex').port, from);
  wires.push(w);
  await w.waitFor(greeting ? /^220 /m : /^\d{3} /m);
  return w;
}
const refusals = (reason: RegExp) => lab.trace.events.filter((e): e is RefusedEvent => e.type === 'refused' && reason.test(e.reason));
const delivered = (id: string) =>
  lab
    .node('ex')
    .mailboxes.all()
    .filter((m) => m.messageId === `<${id}@c.example>`)
    .map((m) => m.recipient);

test('MaxMessageSize: SIZE= over it gets 552 at MAIL FROM; an undeclared one is read to the end, refused with 552 5.3.4, and the session goes on', async () => {
  const w = await open('127.0.0.216');
  w.write(`EHLO big.example\r\nMAIL FROM:<s@x.example> SIZE=${65_537}\r\n`);
  await w.waitFor(/^552 5\.3\.4 Message size exceeds fixed maximum message size/m);

  w.write('RSET\r\nMAIL FROM:<s@x.example>\r\nRCPT TO:<alice@c.example>\r\nDATA\r\n');
  await w.waitFor(/^354 /m);
  const line = `${'y'.repeat(998)}\r\n`;
  w.write(`Message-ID: <too-big@c.example>\r\n\r\n${line.repeat(1024)}.\r\n`); // 1 MB against 64 KB
  await w.waitFor(/^250 [^\r\n]*\r\n354 [^\r\n]*\r\n552 5\.3\.4 Message size exceeds fixed maximum message size/m);
  expect(delivered('too-big')).toEqual([]);
  expect(refusals(/over MaxMessageSize 65536/).some((e) => e.command === 'DATA')).toBe(true);

  // The connection is still in step: the next message, under the limit, is taken.
  w.write('MAIL FROM:<s@x.example>\r\nRCPT TO:<alice@c.example>\r\nDATA\r\nMessage-ID: <small@c.example>\r\n\r\nsmall\r\n.\r\n');
  await w.waitFor(/^250 2\.6\.0 <small@c\.example> /m);
  expect(delivered('small')).toEqual(['alice@c.example']);
});

test('MaxRecipientsPerMessage: recipients past it get 452 4.5.3 Too many recipients; the message goes to those accepted', async () => {
  const w = await open('127.0.0.216');
  const rcpts = ['alice@c.example', ...many.slice(0, 6)].map((r) => `RCPT TO:<${r}>\r\n`).join('');
  w.write(`EHLO fan.example\r\nMAIL FROM:<s@x.example>\r\n${rcpts}DATA\r\nMessage-ID: <fan@c.example>\r\n\r\nhello\r\n.\r\n`);
  await w.waitFor(/^250 2\.6\.0 <fan@c\.example> /m);
  // Exchange's wording for MAIL and RCPT (MAIL, then the five recipients).
  expect(w.transcript.match(/^250 2\.1\.0 Sender OK|^250 2\.1\.5 Recipient OK/gm)).toHaveLength(6);
  expect(w.transcript.match(/^452 4\.5\.3 Too many recipients\r$/gm)).toHaveLength(2);
  expect(delivered('fan').sort()).toEqual(['alice@c.example', ...many.slice(0, 4)].sort());
  // One trace line for the transaction, not one per refused recipient.
  expect(refusals(/^MaxRecipientsPerMessage 5:/)).toHaveLength(1);
});

test("MaxRecipientsPerMessage defaults to Exchange's 200", async () => {
  const w = await open('127.0.0.218');
  w.write(`EHLO fan.example\r\nMAIL FROM:<s@x.example>\r\n${many.map((r) => `RCPT TO:<${r}>\r\n`).join('')}QUIT\r\n`);
  await w.waitFor(/^221 /m, 10_000);
  expect(w.transcript.match(/^250 2\.1\.0 Sender OK|^250 2\.1\.5 Recipient OK/gm)).toHaveLength(1 + 200);
  expect(w.transcript.match(/^452 4\.5\.3 Too many recipients/gm)).toHaveLength(50);
});

test('MaxInboundConnectionPerSource and MaxInboundConnection: 421 4.3.2 Service not available, others still served, slots come back', async () => {
  const held = [await open('127.0.0.217'), await open('127.0.0.217'), await open('127.0.0.217')];
  const fourth = await open('127.0.0.217', false);
  expect(fourth.transcript).toMatch(/^421 4\.3\.2 Service not available\r\n$/);
  await fourth.waitClosed();
  expect(refusals(/^MaxInboundConnectionPerSource 3 on receive connector Limited/)).not.toHaveLength(0);

  // Another source on the same connector is still served, until the connector is full (5).
  await open('127.0.0.216');
  await open('127.0.0.216');
  const sixth = await open('127.0.0.216', false);
  expect(sixth.transcript).toMatch(/^421 4\.3\.2 Service not available/);
  expect(refusals(/^MaxInboundConnection 5 on receive connector Limited/)).not.toHaveLength(0);
  // A client on another connector does not count against this one.
  await open('127.0.0.218');

  held[0].close();
  await new Promise((r) => setTimeout(r, 100));
  await open('127.0.0.217');
});

test('ConnectionInactivityTimeout: a client trickling bytes that never make a command is cut with 421 4.4.1', async () => {
  const w = await open('127.0.0.216');
  w.write('EHLO slow.example\r\n');
  await w.waitFor(/^250 /m);
  const started = Date.now();
  const trickle = setInterval(() => w.write('N'), 200);
  try {
    await w.waitFor(/^421 4\.4\.1 Connection timed out\r\n/m, 4000);
    await w.waitClosed();
  } finally {
    clearInterval(trickle);
  }
  // Cut for silence (1 s), well before the session's whole lifetime (3 s) ran out.
  expect(Date.now() - started).toBeLessThan(2500);
  expect(refusals(/^ConnectionInactivityTimeout 1000 ms on receive connector Limited/).some((e) => e.command === 'SESSION')).toBe(true);
});

test('ConnectionTimeout: a client that keeps busy is still cut when the session has lasted that long', async () => {
  const w = await open('127.0.0.216');
  w.write('EHLO busy.example\r\n');
  const started = Date.now();
  const busy = setInterval(() => w.write('NOOP\r\n'), 300);
  try {
    await w.waitFor(/^421 4\.4\.1 Connection timed out\r\n/m, 6000);
    await w.waitClosed();
  } finally {
    clearInterval(busy);
  }
  expect(w.transcript.match(/^250 /gm)!.length).toBeGreaterThan(5);
  expect(Date.now() - started).toBeGreaterThan(2500);
  expect(refusals(/^ConnectionTimeout 3000 ms/)).not.toHaveLength(0);
});
