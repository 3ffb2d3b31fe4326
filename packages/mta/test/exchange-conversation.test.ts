import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Topology } from '@relaylab/core';
import { Lab } from '@relaylab/lab';
import { Wire } from './wire';

/**
 * What a client reads on the wire: nodes that play Exchange (Exchange Server, Edge, Exchange
 * Online) answer in Exchange's words (docs/exchange.md, "The SMTP conversation Exchange shows");
 * other roles keep a plain MTA's. Raw sockets, plaintext, one whole transaction each.
 */
const topology: Topology = {
  organizations: { contoso: { domains: ['contoso.example'] }, fabrikam: { domains: ['fabrikam.example'] } },
  nodes: {
    onprem: {
      role: 'exchange-server',
      hostname: 'mail.contoso.example',
      address: '127.0.0.221',
      organization: 'contoso',
      mailboxes: ['alice@contoso.example'],
      receiveConnectors: [{ Name: 'Default Frontend', RemoteIPRanges: ['127.0.0.0/8'], PermissionGroups: ['AnonymousUsers'] }],
    },
    eop: {
      role: 'exchange-online',
      hostname: 'contoso-example.mail.protection.outlook.example',
      address: '127.0.0.222',
      organization: 'contoso',
      mailboxes: ['carol@contoso.example'],
    },
    partner: { role: 'partner', hostname: 'mail.fabrikam.example', address: '127.0.0.223', organization: 'fabrikam', mailboxes: ['ann@fabrikam.example'] },
  },
};

let lab: Lab;
beforeAll(async () => {
  lab = await Lab.start(topology, { certsDir: mkdtempSync(join(tmpdir(), 'relaylab-conversation-')) });
});
afterAll(() => lab.stop());

/** One transaction as a client speaks it; the transcript of what the server answered. */
async function converse(node: string, rcpt: string): Promise<string[]> {
  const spec = topology.nodes[node]!;
  const wire = await Wire.open(spec.address, lab.node(node).port, '127.0.0.229');
  const step = async (line: string | undefined, until: RegExp) => {
    if (line !== undefined) wire.write(`${line}\r\n`);
    await wire.waitFor(until);
  };
  await step(undefined, /^220 .*\r\n/m);
  await step('EHLO client.example', /^250 [^\r]*\r\n/m);
  await step('MAIL FROM:<tom@tailspin.example>', /\r\n250 [^\r]*\r\n(?![\s\S]*\r\n250 )/);
  const before = wire.transcript.length;
  wire.write(`RCPT TO:<${rcpt}>\r\n`);
  await wire.waitFor(new RegExp(`^[\\s\\S]{${before}}250 [^\\r]*\\r\\n`));
  const afterRcpt = wire.transcript.length;
  await step('DATA', /^354 [^\r]*\r\n/m);
  wire.write('From: <tom@tailspin.example>\r\nSubject: conversation\r\nMessage-ID: <conversation@tailspin.example>\r\n\r\nhello\r\n.\r\n');
  await wire.waitFor(new RegExp(`^[\\s\\S]{${afterRcpt}}[\\s\\S]*\\r\\n250 [^\\r]*\\r\\n`));
  const beforeQuit = wire.transcript.length;
  wire.write('QUIT\r\n');
  await wire.waitFor(new RegExp(`^[\\s\\S]{${beforeQuit}}221 [^\\r]*\\r\\n`));
  wire.close();
  return wire.transcript.split('\r\n').filter(Boolean);
}

const DATE = '[A-Z][a-z]{2}, \\d{1,2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} [+-]\\d{4}';

test.each([
  ['onprem', 'mail.contoso.example', 'alice@contoso.example'],
  ['eop', 'contoso-example.mail.protection.outlook.example', 'carol@contoso.example'],
])('%s answers as Exchange does, from banner to QUIT', async (node, fqdn, rcpt) => {
  const lines = await converse(node, rcpt);
  expect(lines[0]).toMatch(new RegExp(`^220 ${fqdn.replace(/\./g, '\\.')} Microsoft ESMTP MAIL Service ready at ${DATE}$`));
  expect(lines[1]).toBe(`250-${fqdn} Hello [127.0.0.229]`);
  expect(lines.slice(-5)).toEqual([
    '250 2.1.0 Sender OK',
    '250 2.1.5 Recipient OK',
    '354 Start mail input; end with <CRLF>.<CRLF>',
    expect.stringMatching(
      new RegExp(`^250 2\\.6\\.0 <conversation@tailspin\\.example> \\[InternalId=\\d+, Hostname=${fqdn.replace(/\./g, '\\.')}\\] Queued mail for delivery$`),
    ),
    '221 2.0.0 Service closing transmission channel',
  ]);
  // the trace records the reply the client read
  const received = lab.trace.events.filter((e) => e.type === 'received' && e.node === node).at(-1);
  expect(received?.type === 'received' && received.replies).toEqual([lines.at(-2)]);
});

test('other roles keep a plain MTA answers', async () => {
  const lines = await converse('partner', 'ann@fabrikam.example');
  expect(lines[0]).toBe('220 mail.fabrikam.example ESMTP ESMTP relaylab');
  expect(lines[1]).toBe('250-mail.fabrikam.example Nice to meet you, [127.0.0.229]');
  expect(lines.slice(-5)).toEqual([
    '250 Accepted',
    '250 Accepted',
    '354 End data with <CR><LF>.<CR><LF>',
    '250 2.6.0 <conversation@tailspin.example> Queued mail for delivery',
    '221 Bye',
  ]);
});

test('refusals and fault replies are not reworded', async () => {
  const wire = await Wire.open('127.0.0.221', lab.node('onprem').port, '127.0.0.229');
  await wire.waitFor(/^220 /m);
  wire.write('EHLO client.example\r\nMAIL FROM:<tom@tailspin.example>\r\nRCPT TO:<someone@elsewhere.example>\r\n');
  await wire.waitFor(/^550 5\.7\.54 SMTP; Unable to relay recipient in non-accepted domain\r\n/m);
  lab.failCommand('onprem', 'MAIL', '451 4.3.2 System not accepting network messages', 1);
  wire.write('RSET\r\nMAIL FROM:<tom@tailspin.example>\r\n');
  await wire.waitFor(/^451 4\.3\.2 System not accepting network messages\r\n/m);
  wire.close();
});
