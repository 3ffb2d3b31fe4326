import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AttemptEvent, ReceivedEvent, Topology } from '@relaylab/core';
import { Lab } from '@relaylab/lab';

const topology: Topology = {
  authorities: { root: { commonName: 'Pool Test Root' } },
  certificates: {
    a: { subject: 'mx.a.example', issuer: 'root' },
    b: { subject: 'mx.b.example', issuer: 'root' },
  },
  organizations: { a: { domains: ['a.example'] }, b: { domains: ['b.example'] } },
  nodes: {
    a: { role: 'internet', hostname: 'mx.a.example', address: '127.0.0.140', organization: 'a', certificate: 'a', mailboxes: ['sender@a.example'] },
    b: { role: 'internet', hostname: 'mx.b.example', address: '127.0.0.141', organization: 'b', certificate: 'b', mailboxes: ['rcpt@b.example'] },
  },
  dns: { mx: { 'b.example': ['mx.b.example'] } },
};

let lab: Lab;
afterEach(async () => lab?.stop());

test('one connection carries many messages and is replaced after 100, like nodemailer’s pool', async () => {
  lab = await Lab.start(topology, { certsDir: mkdtempSync(join(tmpdir(), 'relaylab-pool-')) });
  const total = 150;
  for (let i = 0; i < total; i++) {
    const raw = Buffer.from(`From: sender@a.example\r\nTo: rcpt@b.example\r\nMessage-ID: <pool-${i}@a.example>\r\nSubject: ${i}\r\n\r\nbody ${i}\r\n`);
    lab.submit('a', { from: 'sender@a.example', to: ['rcpt@b.example'], raw });
  }
  expect(await lab.settle(60_000)).toBe(true);

  expect(lab.node('b').mailboxes.get('rcpt@b.example')).toHaveLength(total);
  const attempts = lab.trace.events.filter((e): e is AttemptEvent => e.type === 'attempt');
  expect(attempts.filter((a) => a.outcome === 'sent')).toHaveLength(total);

  const perConnection = new Map<string, number>();
  for (const a of attempts) perConnection.set(a.connectionId, (perConnection.get(a.connectionId) ?? 0) + 1);
  const counts = [...perConnection.values()];
  expect(Math.max(...counts)).toBeLessThanOrEqual(100);
  expect(counts.length).toBeGreaterThanOrEqual(2);
  // two connections per next hop at most at any time, each replaced after 100 messages
  expect(counts.length).toBeLessThanOrEqual(4);
  expect(counts.reduce((x, y) => x + y, 0)).toBe(total);

  // the receiving side saw the same number of TCP connections, each over STARTTLS
  const received = lab.trace.events.filter((e): e is ReceivedEvent => e.type === 'received');
  expect(new Set(received.map((r) => r.remote.port)).size).toBe(counts.length);
  expect(received.every((r) => r.tls.secure)).toBe(true);
}, 60_000);
