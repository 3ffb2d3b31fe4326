import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AttemptEvent, Topology } from '@relaylab/core';
import { fateOf, Lab } from '@relaylab/lab';

const DAY = 86_400_000;
const certsDir = mkdtempSync(join(tmpdir(), 'relaylab-edges-'));
let lab: Lab | undefined;
afterEach(async () => {
  await lab?.stop();
  lab = undefined;
});

function topology(extra: Partial<Topology> & { senderConnector?: NonNullable<Topology['nodes'][string]['sendConnectors']>[number] } = {}): Topology {
  const { senderConnector, organizations, ...rest } = extra;
  return {
    authorities: { root: { commonName: 'Edges Root' } },
    certificates: {
      a: { subject: 'mx.a.example', issuer: 'root' },
      b: { subject: 'mx.b.example', issuer: 'root' },
      early: { subject: 'mx.c.example', issuer: 'root', validity: 'not-yet-valid' },
    },
    organizations: organizations ?? { a: { domains: ['a.example'] }, b: { domains: ['b.example'] }, c: { domains: ['c.example'] } },
    nodes: {
      a: {
        role: 'internet',
        hostname: 'mx.a.example',
        address: '127.0.0.150',
        organization: 'a',
        certificate: 'a',
        mailboxes: ['s@a.example'],
        sendConnectors: senderConnector ? [senderConnector] : undefined,
      },
      b: { role: 'internet', hostname: 'mx.b.example', address: '127.0.0.151', organization: 'b', certificate: 'b', mailboxes: ['r@b.example'] },
      c: { role: 'internet', hostname: 'mx.c.example', address: '127.0.0.152', organization: 'c', certificate: 'early', mailboxes: ['r@c.example'] },
    },
    dns: { mx: { 'b.example': ['mx.b.example'], 'c.example': ['mx.c.example'] }, ...rest.dns },
    ...rest,
  };
}

const send = (l: Lab, id: string, to: string[]) =>
  l.submit('a', {
    from: 's@a.example',
    to,
    raw: Buffer.from(`From: s@a.example\r\nTo: ${to.join(', ')}\r\nMessage-ID: <${id}@a.example>\r\nSubject: ${id}\r\n\r\nhello\r\n`),
  });
const fate = (l: Lab, id: string, rcpt: string) => fateOf(l.trace.events, `<${id}@a.example>`, rcpt, (ip, port) => l.nodeAt(ip, port));

test('a reused connection is judged again at the lab time of each message', async () => {
  lab = await Lab.start(
    topology({
      senderConnector: { Name: 'Forced to b', AddressSpaces: ['b.example'], RequireTLS: true, TlsAuthLevel: 'DomainValidation', TlsDomain: 'mx.b.example' },
    }),
    { certsDir },
  );
  send(lab, 'first', ['r@b.example']);
  expect(await lab.settle()).toBe(true);
  expect(fate(lab, 'first', 'r@b.example').state).toBe('delivered');

  await lab.advance(400 * DAY); // past the receiver certificate's notAfter (397 days)
  send(lab, 'second', ['r@b.example']);
  expect(await lab.settle()).toBe(true);
  const second = fate(lab, 'second', 'r@b.example');
  expect(second.state).toBe('deferred');
  expect(second.reply).toMatch(/^450 4\.7\.320/);
  expect(second.reason).toMatch(/expired/);
  const attempts = lab.trace.events.filter((e): e is AttemptEvent => e.type === 'attempt');
  // the same TCP connection carried both: the decision changed, not the handshake
  expect(attempts[1].connectionId).toBe(attempts[0].connectionId);
});

test('a message whose lifetime ran out while the clock jumped bounces instead of being tried again', async () => {
  lab = await Lab.start(
    topology({ senderConnector: { Name: 'Forced to c', AddressSpaces: ['c.example'], RequireTLS: true, TlsAuthLevel: 'CertificateValidation' } }),
    // Five days of hourly retries, each on a new connection: without smtp-server's 100 ms before each 220.
    { certsDir, timeouts: { greetingPauseMs: 0 } },
  );
  send(lab, 'late', ['r@c.example']);
  expect(await lab.settle()).toBe(true);
  expect(fate(lab, 'late', 'r@c.example').reply).toMatch(/^450 4\.7\.320/);
  await lab.advance(31 * DAY); // the certificate is valid now, but the queue lifetime (5 days for a Postfix-like MTA) is over
  expect(await lab.settle()).toBe(true);
  const f = fate(lab, 'late', 'r@c.example');
  expect(f.state).toBe('bounced');
  expect(f.reply).toBe('550 4.4.7 QUEUE.Expired; message expired [LastError: 450 4.7.320 Certificate validation failed]');
  expect(lab.node('c').mailboxes.get('r@c.example')).toHaveLength(0);
});

test('delivery fails over to the next MX when a host does not resolve or refuses the connection', async () => {
  lab = await Lab.start(
    topology({ dns: { mx: { 'b.example': ['ghost.b.example', 'down.b.example', 'mx.b.example'] }, a: { 'down.b.example': '127.0.0.159' } } }),
    { certsDir },
  );
  send(lab, 'failover', ['r@b.example']);
  expect(await lab.settle()).toBe(true);
  const f = fate(lab, 'failover', 'r@b.example');
  expect(f.state).toBe('delivered');
  expect(f.path).toEqual(['a', 'b']);
});

test('a recipient domain that does not exist is rejected with 550 5.4.4, not retried', async () => {
  lab = await Lab.start(topology(), { certsDir });
  send(lab, 'nowhere', ['r@nowhere.example']);
  expect(await lab.settle()).toBe(true);
  const f = fate(lab, 'nowhere', 'r@nowhere.example');
  expect(f.state).toBe('rejected');
  expect(f.reply).toMatch(/^550 5\.4\.4 SMTPSEND\.DNS\.NonExistentDomain/);
});

test('a recipient refused at RCPT gets no hop, while the accepted one does', async () => {
  lab = await Lab.start(topology(), { certsDir });
  send(lab, 'split', ['r@b.example', 'nobody@b.example']);
  expect(await lab.settle()).toBe(true);
  const good = fate(lab, 'split', 'r@b.example');
  const bad = fate(lab, 'split', 'nobody@b.example');
  expect(good.state).toBe('delivered');
  expect(good.hops).toHaveLength(1);
  expect(bad.state).toBe('rejected');
  expect(bad.reply).toMatch(/^550 5\.1\.1/);
  expect(bad.node).toBe('b');
  expect(bad.hops).toHaveLength(0);
  expect(bad.path).toEqual(['a']);
});

test('a TLS-policy deferral on the first MX fails over to the next host, as Exchange does', async () => {
  const t = topology({
    senderConnector: { Name: 'Forced to c', AddressSpaces: ['c.example'], RequireTLS: true, TlsAuthLevel: 'CertificateValidation' },
    dns: { mx: { 'b.example': ['mx.b.example'], 'c.example': ['mx.c.example', 'mx.b.example'] } },
    organizations: { a: { domains: ['a.example'] }, b: { domains: ['b.example', 'c.example'] }, c: { domains: ['c.example'] } },
  });
  t.nodes.b.mailboxes = ['r@b.example', 'r@c.example']; // the secondary MX also hosts c.example
  lab = await Lab.start(t, { certsDir });
  send(lab, 'failover-tls', ['r@c.example']);
  expect(await lab.settle()).toBe(true);
  const f = fate(lab, 'failover-tls', 'r@c.example');
  // mx.c.example's certificate is not valid yet: 450 4.7.320 there, then delivery through mx.b.example
  expect(f.failedAttempts.map((a) => a.destination.host)).toEqual(['mx.c.example']);
  expect(f.failedAttempts[0].tlsDecision).toMatch(/not valid before/);
  expect(f.path).toEqual(['a', 'b']);
});

test('stopping a node mid-delivery keeps the message in its spool instead of losing or half-sending it', async () => {
  const spoolDir = mkdtempSync(join(tmpdir(), 'relaylab-stop-spool-'));
  lab = await Lab.start(topology(), { certsDir, spoolDir });
  lab.slow('b', 1500);
  send(lab, 'in-flight', ['r@b.example']);
  await new Promise((r) => setTimeout(r, 300));
  const stopping = lab;
  lab = undefined;
  await stopping.stop();
  expect(stopping.node('b').mailboxes.get('r@b.example')).toHaveLength(0);
  const spooled = readdirSync(join(spoolDir, 'a')).filter((f) => f.endsWith('.json'));
  expect(spooled).toHaveLength(1);
  expect(readFileSync(join(spoolDir, 'a', spooled[0]), 'utf8')).toContain('in-flight@a.example');
});

test('mail a node takes back from its spool at start waits for the whole lab to listen, then goes at once', async () => {
  const spoolDir = mkdtempSync(join(tmpdir(), 'relaylab-restart-spool-'));
  // Stopped while b was answering slowly: a keeps the message, due again at once.
  const first = await Lab.start(topology(), { certsDir, spoolDir });
  first.slow('b', 1500);
  send(first, 'restored', ['r@b.example']);
  await new Promise((r) => setTimeout(r, 300));
  await first.stop();
  const [file] = readdirSync(join(spoolDir, 'a')).filter((f) => f.endsWith('.json'));
  // As after kill -9 before the first attempt: due now, not after a retry interval.
  const item = JSON.parse(readFileSync(join(spoolDir, 'a', file!), 'utf8'));
  writeFileSync(join(spoolDir, 'a', file!), JSON.stringify({ ...item, attempts: 0, nextAttemptAt: item.enqueuedAt }));
  // Restarted: every node listens before any queue runs, so the first attempt reaches b; it would
  // otherwise find b not yet listening and wait out a retry interval on the lab clock.
  lab = await Lab.start(topology(), { certsDir, spoolDir });
  expect(await lab.settle()).toBe(true);
  expect(lab.trace.events.filter((e) => e.type === 'attempt').map((e) => (e as AttemptEvent).outcome)).toEqual(['sent']);
  expect(fate(lab, 'restored', 'r@b.example').state).toBe('delivered');
});
