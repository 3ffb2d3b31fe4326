import { randomUUID, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ReceivedEvent, Topology } from '@relaylab/core';
import { Lab } from '@relaylab/lab';
import { openConnection, sendMessage, socketOf, type OpenConnection } from '@relaylab/mta';

/**
 * Tripwire for nodemailer's private `_socket`: the adapter reads TLS facts (protocol, peer chain)
 * from it. If a nodemailer release moves or renames it, socketOf() returns undefined and the
 * facts fall back to "not secure"; these assertions then fail loudly.
 */

const EOP_HOST = 'contoso-example.mail.protection.outlook.example';
const EOP_IP = '127.0.0.120';
const CLIENT_IP = '127.0.0.122';
const CLIENT_CN = 'mta.fabrikam.example';

const topology: Topology = {
  name: 'client-adapter',
  authorities: { 'lab-root': { commonName: 'Relaylab Adapter Root CA' } },
  certificates: {
    eop: { subject: 'mail.protection.outlook.example', sans: ['mail.protection.outlook.example', '*.mail.protection.outlook.example'], issuer: 'lab-root' },
    // Not used by any node: the certificate our client presents.
    fabrikam: { subject: CLIENT_CN, issuer: 'lab-root' },
  },
  organizations: { contoso: { domains: ['contoso.example'] } },
  nodes: {
    eop: {
      role: 'exchange-online',
      hostname: EOP_HOST,
      address: EOP_IP,
      organization: 'contoso',
      certificate: 'eop',
      mailboxes: ['bob@contoso.example'],
    },
  },
};

let tmp: string;
let lab: Lab;
let open: OpenConnection | undefined;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'relaylab-client-adapter-'));
  lab = await Lab.start(topology, { certsDir: tmp });
}, 20_000);

afterAll(async () => {
  open?.connection.close();
  await lab?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('openConnection reaches the TLS socket inside nodemailer and the server sees our client certificate', async () => {
  const client = lab.certificates.certificates.get('fabrikam')!;
  open = await openConnection({
    host: EOP_IP,
    port: lab.node('eop').port,
    servername: EOP_HOST,
    localAddress: CLIENT_IP,
    ehloName: CLIENT_CN,
    key: client.keyPem,
    cert: client.chainPem,
    timeoutMs: 5000,
  });
  const { connection, facts, local } = open;

  // The private socket is still where the adapter looks, and it is the TLS one.
  const socket = socketOf(connection);
  expect(socket).toBeDefined();
  expect(socket!.encrypted).toBe(true);
  expect(socket!.getProtocol()).toMatch(/^TLSv1\.[23]$/);
  expect(socket!.localAddress).toBe(CLIENT_IP);

  expect(facts.secure).toBe(true);
  expect(facts.starttlsOffered).toBe(true);
  expect(facts.protocol).toMatch(/^TLSv1\.[23]$/);
  expect(facts.protocol).toBe(socket!.getProtocol());
  expect(facts.cipher).toEqual(expect.any(String));
  expect(local.ip).toBe(CLIENT_IP);
  expect(local.port).toBeGreaterThan(0);

  // The peer chain is DER straight from the handshake: the EOP leaf, then the lab CA.
  expect(facts.peerChain.length).toBeGreaterThanOrEqual(1);
  const leaf = new X509Certificate(facts.peerChain[0]);
  expect(leaf.subject).toBe('CN=mail.protection.outlook.example');
  expect(leaf.subjectAltName).toContain('DNS:*.mail.protection.outlook.example');
  expect(leaf.fingerprint256).toBe(new X509Certificate(lab.certificates.certificates.get('eop')!.certPem).fingerprint256);
  expect(leaf.checkIssued(new X509Certificate(lab.certificates.authorities.get('lab-root')!.certPem))).toBe(true);
  // Our own side: the client certificate we presented.
  expect(facts.localChain).toHaveLength(1);
  expect(new X509Certificate(facts.localChain[0]).subject).toBe(`CN=${CLIENT_CN}`);

  const messageId = `<${randomUUID()}@${CLIENT_CN}>`;
  const raw = Buffer.from(`From: alice@fabrikam.example\r\nTo: bob@contoso.example\r\nSubject: adapter\r\nMessage-ID: ${messageId}\r\n\r\nhello\r\n`);
  const result = await sendMessage(connection, 'alice@fabrikam.example', ['bob@contoso.example'], raw);
  expect(result).toMatchObject({ ok: true, rejected: [], connectionLost: false });
  expect(result.response).toMatch(/^250 2\.6\.0 /);
  expect(result.response).toContain(messageId);

  const received = lab.trace.events.filter((e): e is ReceivedEvent => e.type === 'received' && e.messageId === messageId);
  expect(received).toHaveLength(1);
  const event = received[0];
  expect(event.remote).toEqual({ ip: CLIENT_IP, port: local.port });
  expect(event.ehlo).toBe(CLIENT_CN);
  expect(event.tls.secure).toBe(true);
  expect(event.tls.protocol).toBe(facts.protocol);
  expect(event.tls.peerCertificate?.subject).toContain(`CN=${CLIENT_CN}`);
  expect(event.tls.localCertificate?.subject).toContain('CN=mail.protection.outlook.example');
  // The lab CA is trusted by default, so the server verified the client chain.
  expect(event.clientCertificateVerified).toBe(true);

  const stored = lab
    .node('eop')
    .mailboxes.get('bob@contoso.example')
    .filter((m) => m.messageId === messageId);
  expect(stored).toHaveLength(1);
  // below the lines eop prepended (Received and its classification stamps) the bytes are ours
  const prepends = lab.trace.events.filter((e) => e.type === 'header' && e.node === 'eop' && e.messageId === messageId && e.op === 'prepend').length;
  let offset = 0;
  for (let i = 0; i < prepends; i++) offset = stored[0].raw.indexOf('\r\n', offset) + 2;
  expect(stored[0].raw.subarray(offset).equals(raw)).toBe(true);
});
