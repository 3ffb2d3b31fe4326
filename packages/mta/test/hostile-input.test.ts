import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Topology } from '@relaylab/core';
import { Lab } from '@relaylab/lab';
import { Wire } from './wire';

/**
 * What a hostile or broken client gets on the wire, and that the node keeps serving everyone
 * else. Transcript style: client bytes, the server's answer, then a well-behaved session.
 */
const topology: Topology = {
  organizations: { b: { domains: ['b.example'] } },
  nodes: {
    b: { role: 'internet', hostname: 'mx.b.example', address: '127.0.0.160', organization: 'b', mailboxes: ['r@b.example'] },
  },
};
const IP = '127.0.0.160';
let lab: Lab;
const wires: Wire[] = [];
beforeAll(async () => {
  lab = await Lab.start(topology, { certsDir: mkdtempSync(join(tmpdir(), 'relaylab-hostile-')), timeouts: { socketMs: 500 } });
});
afterEach(() => wires.splice(0).forEach((w) => w.close()));
afterAll(() => lab.stop());

async function open(): Promise<Wire> {
  const w = await Wire.open(IP, lab.node('b').port, '127.0.0.161');
  wires.push(w);
  await w.waitFor(/^220 /m);
  return w;
}

/** A normal session still gets its message delivered. */
async function stillServes(id: string): Promise<void> {
  const w = await open();
  w.write(`EHLO good.example\r\nMAIL FROM:<s@a.example>\r\nRCPT TO:<r@b.example>\r\nDATA\r\n`);
  await w.waitFor(/^354 /m);
  w.write(`Message-ID: <${id}@a.example>\r\nSubject: fine\r\n\r\nhello\r\n.\r\nQUIT\r\n`);
  await w.waitFor(/^250 2\.6\.0 <[^>]+> Queued mail for delivery/m);
  expect(
    lab
      .node('b')
      .mailboxes.get('r@b.example')
      .some((m) => m.messageId === `<${id}@a.example>`),
  ).toBe(true);
}

test('an over-long command line: 421, the connection closes, others are served', async () => {
  const w = await open();
  w.write(`EHLO ${'x'.repeat(70_000)}\r\n`);
  await w.waitFor(/^421 .*too long/im);
  await w.waitClosed();
  await stillServes('after-long-line');
});

test('an oversized message: 552 at MAIL FROM with SIZE, and 552 5.3.4 after DATA', async () => {
  const w = await open();
  // The node's limit is 36 MiB (Exchange Online's default is 35 MB plus encoding).
  w.write(`EHLO big.example\r\nMAIL FROM:<s@a.example> SIZE=${64 * 1024 * 1024}\r\n`);
  await w.waitFor(/^552 .*exceeds fixed maximum message size/m);

  // Without SIZE the node only knows at the end of DATA.
  const v = await open();
  v.write('EHLO big.example\r\nMAIL FROM:<s@a.example>\r\nRCPT TO:<r@b.example>\r\nDATA\r\n');
  await v.waitFor(/^354 /m);
  const chunk = `${'y'.repeat(998)}\r\n`.repeat(1024); // 1 MiB
  for (let i = 0; i < 37; i++) v.write(chunk);
  v.write('Subject: too big\r\n.\r\n');
  await v.waitFor(/^552 5\.3\.4 Message size exceeds fixed maximum message size/m, 20_000);
  expect(lab.trace.events.some((e) => e.type === 'refused' && e.command === 'DATA' && e.reply.startsWith('552 5.3.4'))).toBe(true);
  await stillServes('after-oversized');
}, 30_000);

test('bad commands: 500 each, then 421 after ten; sequence errors: 503', async () => {
  const w = await open();
  w.write('MAIL FROM:<s@a.example>\r\n');
  await w.waitFor(/^503 /m);
  w.write('EHLO bad.example\r\nRCPT TO:<r@b.example>\r\n');
  await w.waitFor(/^503 /m);
  for (let i = 0; i < 10; i++) w.write(`XYZZY${i} \u0000\u0001 garbage\r\n`);
  await w.waitFor(/^421 .*too many unrecognized commands/im);
  expect(w.transcript.match(/^500 /gm)?.length).toBeGreaterThanOrEqual(9);
  await w.waitClosed();
  await stillServes('after-bad-commands');
});

test('pipelining abuse: commands before the greeting get 421; a pipelined burst is answered in order', async () => {
  const early = await Wire.open(IP, lab.node('b').port, '127.0.0.161');
  wires.push(early);
  early.write('EHLO rude.example\r\nMAIL FROM:<s@a.example>\r\n');
  await early.waitFor(/^421 .*(talk too soon|too soon)/im);
  await early.waitClosed();

  const w = await open();
  const rcpts = Array.from({ length: 50 }, (_, i) => `RCPT TO:<r${i}@b.example>\r\n`).join('');
  w.write(`EHLO burst.example\r\nMAIL FROM:<s@a.example>\r\n${rcpts}RCPT TO:<r@b.example>\r\nDATA\r\nSubject: burst\r\n\r\nbody\r\n.\r\nQUIT\r\n`);
  await w.waitFor(/^221 /m);
  // 50 unknown mailboxes refused one by one, the known one taken, the message queued once.
  expect(w.transcript.match(/^550 5\.1\.1 /gm)).toHaveLength(50);
  expect(w.transcript).toMatch(/^250 2\.6\.0 /m);
  await stillServes('after-burst');
});

test('a client that stalls is cut off with 421 after the idle timeout, mid-session and mid-DATA', async () => {
  const idle = await open();
  idle.write('EHLO slow.example\r\n');
  await idle.waitFor(/^250 /m);
  const inData = await open();
  inData.write('EHLO slow.example\r\nMAIL FROM:<s@a.example>\r\nRCPT TO:<r@b.example>\r\nDATA\r\nSubject: half\r\n');
  await inData.waitFor(/^354 /m);
  await stillServes('while-others-stall');
  await idle.waitFor(/^421 4\.4\.1 Connection timed out/m, 3000);
  await idle.waitClosed();
  await inData.waitClosed(3000);
  expect(
    lab
      .node('b')
      .mailboxes.get('r@b.example')
      .some((m) => m.raw.toString().includes('Subject: half')),
  ).toBe(false);
});
