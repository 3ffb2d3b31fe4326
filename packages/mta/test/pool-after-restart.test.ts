import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AttemptEvent, ReceivedEvent, Topology } from '@relaylab/core';
import { Lab } from '@relaylab/lab';

const topology: Topology = {
  authorities: { root: { commonName: 'Pool Restart Test Root' } },
  certificates: {
    a: { subject: 'mx.a.example', issuer: 'root' },
    b: { subject: 'mx.b.example', issuer: 'root' },
  },
  organizations: { a: { domains: ['a.example'] }, b: { domains: ['b.example'] } },
  nodes: {
    a: { role: 'internet', hostname: 'mx.a.example', address: '127.0.0.142', organization: 'a', certificate: 'a', mailboxes: ['sender@a.example'] },
    b: { role: 'internet', hostname: 'mx.b.example', address: '127.0.0.143', organization: 'b', certificate: 'b', mailboxes: ['rcpt@b.example'] },
  },
  dns: { mx: { 'b.example': ['mx.b.example'] } },
};

let lab: Lab;
afterEach(async () => lab?.stop());

const send = (from: number, count: number) => {
  for (let i = from; i < from + count; i++) {
    const raw = Buffer.from(`From: sender@a.example\r\nTo: rcpt@b.example\r\nMessage-ID: <restart-${i}@a.example>\r\nSubject: ${i}\r\n\r\nbody ${i}\r\n`);
    lab.submit('a', { from: 'sender@a.example', to: ['rcpt@b.example'], raw });
  }
};

/** TCP connections the receiver saw after the `skip` first messages: one per client port. */
const connectionsAfter = (skip: number) => {
  const received = lab.trace.events.filter((e): e is ReceivedEvent => e.type === 'received').slice(skip);
  return new Set(received.map((r) => r.remote.port)).size;
};

test('a sender taken down and brought up reuses its connections again', async () => {
  lab = await Lab.start(topology, { certsDir: mkdtempSync(join(tmpdir(), 'relaylab-pool-restart-')) });
  send(0, 20);
  expect(await lab.settle(60_000)).toBe(true);
  // Before: a few connections carry the 20 messages (two at most at a time, reused).
  expect(connectionsAfter(0)).toBeLessThanOrEqual(2);

  await lab.down('a');
  await lab.up('a');
  send(20, 40);
  expect(await lab.settle(60_000)).toBe(true);

  expect(lab.node('b').mailboxes.get('rcpt@b.example')).toHaveLength(60);
  // After the restart the 40 messages still share at most two connections (per next hop),
  // rather than one new TCP connection, EHLO and STARTTLS each.
  expect(connectionsAfter(20)).toBeLessThanOrEqual(2);
  const attempts = lab.trace.events.filter((e): e is AttemptEvent => e.type === 'attempt').slice(20);
  expect(attempts.filter((a) => a.reusedConnection > 0).length).toBeGreaterThanOrEqual(38);
}, 60_000);
