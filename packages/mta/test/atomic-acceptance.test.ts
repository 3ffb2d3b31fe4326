import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Topology } from '@relaylab/core';
import { Lab } from '@relaylab/lab';
import { Wire } from './wire';

/**
 * A message is accepted whole or not at all: nothing of it reaches a mailbox or a queue unless
 * the final reply to DATA is 250. Here one recipient is local and one is relayed, and preparing
 * the relayed copy fails (address rewriting copies a From header holding a bare CR, which no
 * header may carry): the local copy must not be delivered either.
 */
const topology: Topology = {
  organizations: { c: { domains: ['c.example'] }, f: { domains: ['far.example'] } },
  nodes: {
    ex: {
      role: 'exchange-server',
      hostname: 'mail.c.example',
      address: '127.0.0.210',
      organization: 'c',
      mailboxes: ['alice@c.example'],
      addressRewriteEntries: [{ InternalAddress: 'c.example', ExternalAddress: 'out.c.example' }],
      receiveConnectors: [
        { Name: 'Relay', RemoteIPRanges: ['127.0.0.211'], PermissionGroups: ['AnonymousUsers'], ExtendedRights: ['ms-Exch-SMTP-Accept-Any-Recipient'] },
      ],
      sendConnectors: [{ Name: 'Far', AddressSpaces: ['far.example'], DNSRoutingEnabled: false, SmartHosts: ['mx.far.example'] }],
    },
    far: { role: 'internet', hostname: 'mx.far.example', address: '127.0.0.212', organization: 'f', mailboxes: ['bob@far.example'] },
  },
};

let lab: Lab;
const wires: Wire[] = [];
beforeAll(async () => {
  lab = await Lab.start(topology, { certsDir: mkdtempSync(join(tmpdir(), 'relaylab-atomic-')) });
});
afterEach(() => wires.splice(0).forEach((w) => w.close()));
afterAll(() => lab.stop());

async function session(message: string): Promise<string> {
  const w = await Wire.open('127.0.0.210', lab.node('ex').port, '127.0.0.211');
  wires.push(w);
  await w.waitFor(/^220 /m);
  w.write('EHLO client.c.example\r\nMAIL FROM:<sender@c.example>\r\nRCPT TO:<alice@c.example>\r\nRCPT TO:<bob@far.example>\r\nDATA\r\n');
  await w.waitFor(/^354 /m);
  w.write(`${message}\r\n.\r\n`);
  return (await w.waitFor(/^[245]\d\d [^\r\n]*\r\n(?![\s\S]*^354 )/m)).split(/\r\n/).filter(Boolean).pop()!;
}

test('a failure while preparing one recipient leaves no copy for any: the client may retry without duplicates', async () => {
  const message =
    'From: "Bare\rCR" <sender@c.example>\r\nTo: alice@c.example, bob@far.example\r\nMessage-ID: <bare-cr@c.example>\r\nSubject: bare CR\r\n\r\nhello';
  for (let i = 0; i < 3; i++) {
    const last = await session(message);
    expect(last).toMatch(/^451 4\.3\.0 /);
  }
  expect(lab.node('ex').mailboxes.get('alice@c.example')).toHaveLength(0);
  expect(lab.node('ex').queue.pending()).toHaveLength(0);
  // The trace says nothing was received or delivered, as the mailboxes show.
  const mine = lab.trace.events.filter((e) => 'messageId' in e && e.messageId === '<bare-cr@c.example>');
  expect(mine.filter((e) => e.type === 'received' || e.type === 'delivered')).toHaveLength(0);
});

test('a message that can be prepared for every recipient is accepted whole', async () => {
  const last = await session('From: sender@c.example\r\nTo: alice@c.example, bob@far.example\r\nMessage-ID: <whole@c.example>\r\nSubject: fine\r\n\r\nhello');
  expect(last).toMatch(/^250 2\.6\.0 /);
  expect(await lab.settle()).toBe(true);
  expect(
    lab
      .node('ex')
      .mailboxes.get('alice@c.example')
      .map((m) => m.messageId),
  ).toEqual(['<whole@c.example>']);
  expect(
    lab
      .node('far')
      .mailboxes.get('bob@far.example')
      .map((m) => m.messageId),
  ).toEqual(['<whole@c.example>']);
});
