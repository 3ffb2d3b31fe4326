import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Topology } from '@relaylab/core';
import { Lab } from '@relaylab/lab';
import { Wire } from './wire';

/**
 * The pause before a node's 220 (ListenerTimeouts.greetingPauseMs): a client that talks within it
 * gets smtp-server's 421; one that talks after the greeting is served. smtp-server's own pause
 * (100 ms) stays the default; see hostile-input.test.ts for a client that talks first there.
 */
const topology: Topology = {
  organizations: { b: { domains: ['b.example'] } },
  nodes: {
    b: { role: 'internet', hostname: 'mx.b.example', address: '127.0.0.162', organization: 'b', mailboxes: ['r@b.example'] },
  },
};
const labs: Lab[] = [];
const wires: Wire[] = [];
afterEach(async () => {
  wires.splice(0).forEach((w) => w.close());
  await Promise.all(labs.splice(0).map((l) => l.stop()));
});

async function nodeWithPause(greetingPauseMs: number): Promise<Lab> {
  const lab = await Lab.start(topology, { certsDir: mkdtempSync(join(tmpdir(), 'relaylab-greeting-')), timeouts: { greetingPauseMs } });
  labs.push(lab);
  return lab;
}

async function open(lab: Lab): Promise<Wire> {
  const w = await Wire.open('127.0.0.162', lab.node('b').port, '127.0.0.163');
  wires.push(w);
  return w;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a longer pause than smtp-server keeps: a client that talks 300 ms in still talks too soon', async () => {
  const w = await open(await nodeWithPause(5000));
  await sleep(300);
  expect(w.transcript).toBe('');
  w.write('EHLO early.example\r\n');
  await w.waitFor(/^421 .*too soon/im);
});

test('no pause: the 220 comes first, and a client that waits for it is served at once', async () => {
  const lab = await nodeWithPause(0);
  const w = await open(lab);
  await w.waitFor(/^220 /m);
  w.write('EHLO prompt.example\r\nMAIL FROM:<s@a.example>\r\nRCPT TO:<r@b.example>\r\nDATA\r\n');
  await w.waitFor(/^354 /m);
  w.write('Message-ID: <prompt@a.example>\r\nSubject: prompt\r\n\r\nhello\r\n.\r\nQUIT\r\n');
  await w.waitFor(/^221 /m);
  expect(w.transcript).not.toMatch(/too soon/i);
  expect(
    lab
      .node('b')
      .mailboxes.get('r@b.example')
      .map((m) => m.messageId),
  ).toEqual(['<prompt@a.example>']);
});

test('no pause: a client that talks 20 ms in is not early (with smtp-server’s 100 ms it would be)', async () => {
  const w = await open(await nodeWithPause(0));
  await sleep(20);
  w.write('EHLO soon.example\r\n');
  await w.waitFor(/^250[- ]/m);
  expect(w.transcript).toMatch(/^220 /m);
  expect(w.transcript).not.toMatch(/too soon/i);
});
