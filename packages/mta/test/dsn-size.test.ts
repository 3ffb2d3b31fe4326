import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Topology } from '@relaylab/core';
import { Lab } from '@relaylab/lab';
import { DSN_RETURN_LIMIT } from '../src/dsn';

/**
 * A DSN stays small whatever it reports on: it returns the original's header block up to
 * Postfix's bounce_size_limit (50000 bytes), never the body, and lists recipients one by one in
 * its human part only up to a hundred (the delivery-status part still has every one).
 */
const topology: Topology = {
  organizations: { a: { domains: ['a.example'] }, b: { domains: ['b.example'] } },
  nodes: {
    a: { role: 'internet', hostname: 'mx.a.example', address: '127.0.0.213', organization: 'a', mailboxes: ['s@a.example'] },
    b: { role: 'internet', hostname: 'mx.b.example', address: '127.0.0.214', organization: 'b', mailboxes: ['r@b.example'] },
  },
  dns: { mx: { 'b.example': ['mx.b.example'] } },
};

let lab: Lab;
beforeAll(async () => {
  lab = await Lab.start(topology, { certsDir: mkdtempSync(join(tmpdir(), 'relaylab-dsn-size-')) });
});
afterAll(() => lab.stop());

test('150 recipients refused by the next hop and 200 KB of headers: one DSN, headers cut at the limit, every recipient in the status part', async () => {
  const to = Array.from({ length: 150 }, (_, i) => `nobody${i}@b.example`);
  const padding = Array.from({ length: 2000 }, (_, i) => `X-Padding-${i}: ${'p'.repeat(90)}\r\n`).join(''); // ~200 KB
  const body = `${'body line\r\n'.repeat(20_000)}`; // ~200 KB the DSN must not carry
  lab.submit('a', {
    from: 's@a.example',
    to,
    raw: Buffer.from(`From: s@a.example\r\nMessage-ID: <big-bounce@a.example>\r\nSubject: many\r\n${padding}\r\n${body}`),
  });
  expect(await lab.settle()).toBe(true);

  const dsns = lab.node('a').mailboxes.get('s@a.example');
  expect(dsns).toHaveLength(1);
  const dsn = dsns[0].raw.toString('latin1');
  expect(dsn.length).toBeLessThan(3 * DSN_RETURN_LIMIT);
  expect(dsn.match(/^Final-Recipient: rfc822; nobody\d+@b\.example\r$/gm)).toHaveLength(150);
  expect(dsn).toContain('... and 50 more');
  expect(dsn).not.toContain('body line');
  const returned = /Content-Type: text\/rfc822-headers\r\n\r\n([\s\S]*?)\r\n\r\n--relaylab-dsn-/.exec(dsn)![1];
  expect(returned.length).toBeLessThanOrEqual(DSN_RETURN_LIMIT);
  expect(returned).toMatch(/^From: s@a\.example\r\n/);
  // Cut at a field boundary: the last returned field is whole.
  expect(returned).toMatch(/X-Padding-\d+: p{90}$/);
});
