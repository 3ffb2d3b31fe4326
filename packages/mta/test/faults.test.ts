import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AttemptEvent, FaultEvent, Topology } from '@relaylab/core';
import { fateOf, Lab } from '@relaylab/lab';
import { stripStartTlsLine } from '@relaylab/mta';

/** Faults carried out on the wire, and what each TLS setting makes of them. */
const certsDir = mkdtempSync(join(tmpdir(), 'relaylab-faults-'));
const topology: Topology = {
  authorities: { root: { commonName: 'Faults Root' } },
  certificates: { a: { subject: 'mx.a.example', issuer: 'root' }, b: { subject: 'mx.b.example', issuer: 'root' } },
  organizations: { a: { domains: ['a.example'] }, b: { domains: ['b.example'] }, f: { domains: ['forced.example'] } },
  nodes: {
    a: {
      role: 'internet',
      hostname: 'mx.a.example',
      address: '127.0.0.170',
      organization: 'a',
      certificate: 'a',
      trust: ['root'],
      mailboxes: ['s@a.example'],
      sendConnectors: [
        {
          Name: 'Forced',
          AddressSpaces: ['forced.example'],
          DNSRoutingEnabled: false,
          SmartHosts: ['mx.b.example'],
          RequireTLS: true,
          TlsAuthLevel: 'DomainValidation',
          TlsDomain: 'mx.b.example',
        },
        { Name: 'Internet', AddressSpaces: ['*'], DNSRoutingEnabled: true },
      ],
    },
    b: { role: 'internet', hostname: 'mx.b.example', address: '127.0.0.171', organization: 'b', certificate: 'b', mailboxes: ['r@b.example'] },
  },
  dns: { mx: { 'b.example': ['mx.b.example'] } },
};
topology.nodes.b.mailboxes!.push('r@forced.example');
topology.organizations!.b.domains.push('forced.example');

let lab: Lab;
let spoolDir: string;
beforeEach(async () => {
  spoolDir = mkdtempSync(join(tmpdir(), 'relaylab-faults-spool-'));
  lab = await Lab.start(topology, { certsDir, spoolDir });
});
afterEach(() => lab.stop());

const send = (id: string, to: string) =>
  lab.submit('a', {
    from: 's@a.example',
    to: [to],
    raw: Buffer.from(`From: s@a.example\r\nTo: ${to}\r\nMessage-ID: <${id}@a.example>\r\nSubject: ${id}\r\n\r\nhello\r\n`),
  });
const fate = (id: string, rcpt: string) => fateOf(lab.trace.events, `<${id}@a.example>`, rcpt, (ip, port) => lab.nodeAt(ip, port));
const attempts = (id: string) => lab.trace.events.filter((e): e is AttemptEvent => e.type === 'attempt' && e.messageId === `<${id}@a.example>`);
const faults = () => lab.trace.events.filter((e): e is FaultEvent => e.type === 'fault');

test('a failed TLS handshake: opportunistic retries in plaintext, forced TLS defers and keeps the message', async () => {
  lab.tlsHandshakeFails('b');
  send('opp', 'r@b.example');
  send('forced', 'r@forced.example');
  expect(await lab.settle()).toBe(true);
  expect(fate('opp', 'r@b.example')).toMatchObject({ state: 'delivered' });
  expect(fate('opp', 'r@b.example').hops[0].tls).toBe('none');
  expect(attempts('opp')[0].tls.handshakeError).toBeTruthy();
  const forced = fate('forced', 'r@forced.example');
  expect(forced.state).toBe('deferred');
  expect(forced.reply).toMatch(/^450 /);
  expect(faults().some((f) => f.fault === 'tlsHandshakeFails' && f.sessionId)).toBe(true);
  // Still owed: the forced message is in the sender's spool, and only it.
  expect(readdirSync(join(spoolDir, 'a')).filter((f) => f.endsWith('.json'))).toHaveLength(1);

  lab.heal('b');
  await lab.advance(70 * 60_000);
  expect(await lab.settle()).toBe(true);
  expect(fate('forced', 'r@forced.example')).toMatchObject({ state: 'delivered', deliveries: 1 });
  expect(readdirSync(join(spoolDir, 'a')).filter((f) => f.endsWith('.json'))).toHaveLength(0);
});

test('a 5xx to RCPT at the next hop: rejected, and a DSN (multipart/report) comes back to the sender', async () => {
  lab.failCommand('b', 'RCPT', '550 5.7.1 Delivery not authorized, message refused');
  send('refused', 'r@b.example');
  expect(await lab.settle()).toBe(true);
  const f = fate('refused', 'r@b.example');
  expect(f).toMatchObject({ state: 'rejected', node: 'b', reply: '550 5.7.1 Delivery not authorized, message refused' });
  const ndr = lab.node('a').mailboxes.get('s@a.example');
  expect(ndr).toHaveLength(1);
  const text = ndr[0].raw.toString();
  expect(ndr[0].from).toBe('');
  expect(ndr[0].messageId).toBe(f.ndr?.messageId);
  expect(text).toMatch(/^Content-Type: multipart\/report; report-type=delivery-status; boundary="/m);
  expect(text).toMatch(/^Subject: Undeliverable: refused$/m);
  expect(text).toContain("Remote server returned '550 5.7.1 Delivery not authorized, message refused'");
  expect(text).toMatch(
    /^Final-Recipient: rfc822; r@b\.example\r\nAction: failed\r\nStatus: 5\.7\.1\r\nRemote-MTA: dns; mx\.b\.example\r\nDiagnostic-Code: smtp; 550 5\.7\.1 /m,
  );
  expect(text).toMatch(/^Content-Type: text\/rfc822-headers\r\n\r\nFrom: s@a\.example/m);
});

test('a DSN that cannot be delivered is not answered with another one', async () => {
  lab.failCommand('b', 'RCPT', '550 5.1.1 User unknown');
  // The sender's own address is refused by b too: the DSN from b's refusal goes... to b, and bounces quietly.
  lab.submit('a', { from: 'ghost@b.example', to: ['r@b.example'], raw: Buffer.from('Message-ID: <loop@a.example>\r\nSubject: loop\r\n\r\nx\r\n') });
  expect(await lab.settle()).toBe(true);
  const dsnEvents = lab.trace.events.filter((e) => e.type === 'dsn');
  expect(dsnEvents).toHaveLength(1);
  const dsnId = dsnEvents[0].type === 'dsn' ? dsnEvents[0].dsnMessageId : '';
  const dsnFate = fateOf(lab.trace.events, dsnId, 'ghost@b.example', (ip, port) => lab.nodeAt(ip, port));
  expect(dsnFate.state).toBe('rejected');
  expect(dsnFate.noNdr).toMatch(/null sender/);
});

test('EHLO refused with 421, and a slow peer: retried, then delivered once', async () => {
  lab.failCommand('b', 'EHLO', '421 4.3.2 Service not available', 1);
  lab.slow('b', 40);
  send('ehlo', 'r@b.example');
  expect(await lab.settle()).toBe(true);
  expect(fate('ehlo', 'r@b.example')).toMatchObject({ state: 'deferred', reply: '421 4.3.2 Service not available' });
  await lab.advance(70 * 60_000); // a plain MTA retries like Postfix: after 4000 s
  expect(await lab.settle()).toBe(true);
  expect(fate('ehlo', 'r@b.example')).toMatchObject({ state: 'delivered', deliveries: 1 });
  expect(faults().filter((f) => f.fault === 'slow' && f.sessionId).length).toBeGreaterThan(3);
});

test('STARTTLS is removed from a multi-line EHLO reply, keeping the reply well formed', () => {
  expect(stripStartTlsLine(['250-mx.b.example', '250-STARTTLS', '250 SIZE 10']).lines).toEqual(['250-mx.b.example', '250 SIZE 10']);
  expect(stripStartTlsLine(['250-mx.b.example', '250-SIZE 10', '250 STARTTLS']).lines).toEqual(['250-mx.b.example', '250 SIZE 10']);
  expect(stripStartTlsLine(['220 ready']).stripped).toBe(false);
});
