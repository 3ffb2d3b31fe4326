import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AttemptEvent, Topology } from '@relaylab/core';
import { Lab } from '@relaylab/lab';
import { tool } from './debian-tools';

/**
 * Each node's TLS versions and ciphers on its listener and its client: a legacy receiver that
 * speaks only TLS 1.0 and a server pinned to TLS 1.2. A mismatch is a handshake that really fails.
 */

const LEGACY = { minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' } as const;

const topology: Topology = {
  name: 'tls-versions',
  authorities: { root: { commonName: 'Relaylab TLS Versions Root CA' } },
  certificates: {
    eop: { subject: 'mail.protection.outlook.example', issuer: 'root' },
    legacy: { subject: 'mx-legacy.fabrikam.example', issuer: 'root' },
    pinned: { subject: 'mx-pinned.fabrikam.example', issuer: 'root' },
    oldmta: { subject: 'old.tailspin.example', issuer: 'root' },
    modern: { subject: 'new.tailspin.example', issuer: 'root' },
  },
  organizations: {
    contoso: { domains: ['contoso.example'] },
    legacy: { domains: ['legacy.forced.example', 'legacy.opp.example'] },
    pinned: { domains: ['pinned.forced.example', 'pinned.opp.example'] },
  },
  nodes: {
    eop: {
      role: 'exchange-online',
      hostname: 'contoso-example.mail.protection.outlook.example',
      address: '127.0.0.150',
      organization: 'contoso',
      certificate: 'eop',
      mailboxes: ['alice@contoso.example'],
      outboundConnectors: [
        { Name: 'Forced', ConnectorType: 'Partner', RecipientDomains: ['*.forced.example'], UseMXRecord: true, TlsSettings: 'CertificateValidation' },
        { Name: 'Opportunistic', ConnectorType: 'Partner', RecipientDomains: ['*.opp.example'], UseMXRecord: true, TlsSettings: null },
      ],
    },
    legacy: {
      role: 'partner',
      hostname: 'mx-legacy.fabrikam.example',
      address: '127.0.0.151',
      organization: 'legacy',
      certificate: 'legacy',
      tls: LEGACY,
      mailboxes: ['user@legacy.forced.example', 'user@legacy.opp.example'],
    },
    pinned: {
      role: 'partner',
      hostname: 'mx-pinned.fabrikam.example',
      address: '127.0.0.152',
      organization: 'pinned',
      certificate: 'pinned',
      tls: { maxVersion: 'TLSv1.2' },
      mailboxes: ['user@pinned.forced.example', 'user@pinned.opp.example'],
    },
    // An old MTA that still speaks TLS 1.0, as the legacy receiver's peers must.
    oldmta: {
      role: 'internet',
      hostname: 'old.tailspin.example',
      address: '127.0.0.153',
      certificate: 'oldmta',
      tls: { minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' },
    },
    // A sender that insists on TLS 1.3.
    modern: { role: 'internet', hostname: 'new.tailspin.example', address: '127.0.0.154', certificate: 'modern', tls: { minVersion: 'TLSv1.3' } },
  },
  dns: {
    mx: {
      'legacy.forced.example': ['mx-legacy.fabrikam.example'],
      'legacy.opp.example': ['mx-legacy.fabrikam.example'],
      'pinned.forced.example': ['mx-pinned.fabrikam.example'],
      'pinned.opp.example': ['mx-pinned.fabrikam.example'],
    },
  },
};

let tmp: string;
let lab: Lab;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'relaylab-tls-versions-'));
  lab = await Lab.start(topology, { certsDir: path.join(tmp, 'certs') });
}, 20_000);

afterAll(async () => {
  await lab?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function send(from: string, recipient: string): Promise<AttemptEvent[]> {
  lab.submit(from, { from: `sender@${lab.node(from).name}.example`, to: [recipient], raw: Buffer.from(`Subject: tls versions\r\n\r\nx\r\n`) });
  expect(await lab.settle(15_000)).toBe(true);
  return lab.trace.events.filter((e): e is AttemptEvent => e.type === 'attempt' && e.node === from && e.recipients.includes(recipient));
}

const delivered = (recipient: string) => lab.trace.events.some((e) => e.type === 'delivered' && e.recipient === recipient);

// The peer's alert (client side) or OpenSSL's refusal of the ClientHello: what OpenSSL says, not a fault step.
const VERSION_MISMATCH = /alert protocol version|unsupported protocol/;

describe('a legacy receiver that speaks only TLS 1.0', () => {
  test('a forced-TLS connector (TLS 1.2 and up) fails the handshake for real and defers 450 4.4.317', async () => {
    const attempts = await send('eop', 'user@legacy.forced.example');
    expect(attempts).toHaveLength(1);
    // OpenSSL's reason and alert, without its address and source file.
    expect(attempts[0]).toMatchObject({ outcome: 'deferred', tls: { secure: false, handshakeError: 'tlsv1 alert protocol version (SSL alert number 70)' } });
    expect(lab.trace.events.some((e) => e.type === 'fault')).toBe(false);
    const deferred = lab.trace.events.find((e) => e.type === 'deferred' && e.node === 'eop' && e.recipients.includes('user@legacy.forced.example'));
    expect(deferred).toMatchObject({ reply: expect.stringMatching(/^450 4\.4\.317 /) });
    expect(delivered('user@legacy.forced.example')).toBe(false);
  });

  test('an opportunistic connector retries in plaintext after the failed handshake', async () => {
    const attempts = await send('eop', 'user@legacy.opp.example');
    expect(attempts.map((a) => [a.outcome, a.tls.secure])).toEqual([
      ['deferred', false],
      ['sent', false],
    ]);
    expect(attempts[0]!.tls.handshakeError).toMatch(VERSION_MISMATCH);
    expect(delivered('user@legacy.opp.example')).toBe(true);
  });

  test('a sender that still allows TLS 1.0 (and SECLEVEL=0) completes the handshake in TLSv1', async () => {
    const attempts = await send('oldmta', 'user@legacy.opp.example');
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ outcome: 'sent', tls: { secure: true, protocol: 'TLSv1' } });
  });

  test('openssl s_client: TLS 1.2 is refused, TLS 1.0 at SECLEVEL=0 is accepted', async () => {
    const port = lab.node('legacy').port;
    const sClient = (args: string[]) => run(tool('openssl'), ['s_client', '-starttls', 'smtp', '-connect', `127.0.0.151:${port}`, ...args], 'QUIT\n');
    const modern = await sClient(['-tls1_2']);
    expect(modern.code).not.toBe(0);
    expect(modern.output).toMatch(VERSION_MISMATCH);
    const old = await sClient(['-tls1', '-cipher', 'DEFAULT@SECLEVEL=0']);
    expect(old.output).toMatch(/Protocol\s*: TLSv1\n/);
  });
});

describe('a server pinned to TLS 1.2', () => {
  test('Exchange Online negotiates TLSv1.2 with it, not 1.3', async () => {
    const attempts = await send('eop', 'user@pinned.forced.example');
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ outcome: 'sent', tls: { secure: true, protocol: 'TLSv1.2' } });
  });

  test('a sender requiring TLS 1.3 fails the handshake, then falls back to plaintext (opportunistic)', async () => {
    const attempts = await send('modern', 'user@pinned.opp.example');
    expect(attempts.map((a) => [a.outcome, a.tls.secure])).toEqual([
      ['deferred', false],
      ['sent', false],
    ]);
    expect(attempts[0]!.tls.handshakeError).toMatch(VERSION_MISMATCH);
  });
});

function run(command: string, args: string[], input: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: 10_000, killSignal: 'SIGKILL' });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => out.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output: Buffer.concat(out).toString('utf8') }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}
