import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AttemptEvent, Topology } from '@relaylab/core';
import { Lab } from '@relaylab/lab';
import { tool } from './debian-tools';

/**
 * A receiver whose certificate comes from an intermediate CA, presenting its full chain or only
 * its leaf. The sender trusts the root alone, so the leaf alone cannot be verified: Exchange
 * Online defers with 450 4.7.320, and OpenSSL and Postfix clients see the same failure.
 */

const FULL_IP = '127.0.0.141';
const LEAF_IP = '127.0.0.142';
const FULL_HOST = 'mx-full.fabrikam.example';
const LEAF_HOST = 'mx-leafonly.fabrikam.example';

const topology: Topology = {
  name: 'intermediate-chain',
  authorities: {
    root: { commonName: 'Relaylab Chain Test Root CA' },
    issuing: { commonName: 'Relaylab Chain Test Issuing CA', issuer: 'root' },
  },
  certificates: {
    eop: { subject: 'mail.protection.outlook.example', issuer: 'issuing' },
    full: { subject: FULL_HOST, issuer: 'issuing' },
    leafonly: { subject: LEAF_HOST, issuer: 'issuing' },
  },
  organizations: {
    contoso: { domains: ['contoso.example'] },
    full: { domains: ['full.dv.example', 'full.cv.example', 'full.eo.example'] },
    leafonly: { domains: ['leafonly.dv.example', 'leafonly.cv.example', 'leafonly.eo.example'] },
  },
  nodes: {
    eop: {
      role: 'exchange-online',
      hostname: 'contoso-example.mail.protection.outlook.example',
      address: '127.0.0.140',
      organization: 'contoso',
      certificate: 'eop',
      mailboxes: ['alice@contoso.example'],
      outboundConnectors: [
        {
          Name: 'DV',
          ConnectorType: 'Partner',
          RecipientDomains: ['*.dv.example'],
          UseMXRecord: true,
          TlsSettings: 'DomainValidation',
          TlsDomain: '*.fabrikam.example',
        },
        { Name: 'CV', ConnectorType: 'Partner', RecipientDomains: ['*.cv.example'], UseMXRecord: true, TlsSettings: 'CertificateValidation' },
        { Name: 'EO', ConnectorType: 'Partner', RecipientDomains: ['*.eo.example'], UseMXRecord: true, TlsSettings: 'EncryptionOnly' },
      ],
    },
    // Exchange Server's send connector: TlsAuthLevel is New-SendConnector's name for the same check.
    onprem: {
      role: 'exchange-server',
      hostname: 'mail.contoso.example',
      address: '127.0.0.143',
      organization: 'contoso',
      sendConnectors: [
        {
          Name: 'To Fabrikam',
          AddressSpaces: ['smtp:leafonly.dv.example;1', 'smtp:full.dv.example;1'],
          DNSRoutingEnabled: true,
          RequireTLS: true,
          TlsAuthLevel: 'DomainValidation',
          TlsDomain: '*.fabrikam.example',
        },
      ],
    },
    full: {
      role: 'internet',
      hostname: FULL_HOST,
      address: FULL_IP,
      organization: 'full',
      certificate: 'full',
      mailboxes: ['user@full.dv.example', 'user@full.cv.example', 'user@full.eo.example'],
    },
    leafonly: {
      role: 'internet',
      hostname: LEAF_HOST,
      address: LEAF_IP,
      organization: 'leafonly',
      certificate: 'leafonly',
      tls: { presentChain: 'leafOnly' },
      mailboxes: ['user@leafonly.dv.example', 'user@leafonly.cv.example', 'user@leafonly.eo.example'],
    },
  },
  dns: {
    mx: {
      'full.dv.example': [FULL_HOST],
      'full.cv.example': [FULL_HOST],
      'full.eo.example': [FULL_HOST],
      'leafonly.dv.example': [LEAF_HOST],
      'leafonly.cv.example': [LEAF_HOST],
      'leafonly.eo.example': [LEAF_HOST],
    },
  },
};

interface RunResult {
  code: number | null;
  output: string;
}

function run(command: string, args: string[], input = ''): Promise<RunResult> {
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

/** posttls-finger is Postfix's; it lives in /usr/sbin, which a test runner's PATH may lack. */
function posttlsFinger(): string {
  for (const candidate of ['/usr/sbin/posttls-finger', '/usr/bin/posttls-finger']) if (fs.existsSync(candidate)) return candidate;
  throw new Error("posttls-finger is not installed, and this test runs it: install Debian's postfix package (apt-get install postfix)");
}

let tmp: string;
let lab: Lab;
let rootFile: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'relaylab-chain-'));
  lab = await Lab.start(topology, { certsDir: path.join(tmp, 'certs') });
  rootFile = lab.certificates.authorities.get('root')!.file;
}, 20_000);

afterAll(async () => {
  await lab?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const attemptsFor = (recipient: string, node: string): AttemptEvent[] =>
  lab.trace.events.filter((e): e is AttemptEvent => e.type === 'attempt' && e.node === node && e.recipients.includes(recipient));

async function sendFrom(recipient: string, node = 'eop'): Promise<AttemptEvent> {
  lab.submit(node, {
    from: 'alice@contoso.example',
    to: [recipient],
    raw: Buffer.from(`Subject: chain test\r\nMessage-ID: <${node}.${recipient}>\r\n\r\nx\r\n`),
  });
  expect(await lab.settle(15_000)).toBe(true);
  const attempts = attemptsFor(recipient, node);
  expect(attempts).toHaveLength(1);
  return attempts[0]!;
}

describe('Exchange Online sending to a receiver issued by an intermediate CA', () => {
  test.each(['dv', 'cv'])('%s: the full chain verifies and the message is delivered', async (setting) => {
    const attempt = await sendFrom(`user@full.${setting}.example`);
    expect(attempt).toMatchObject({ outcome: 'sent', certificateVerified: true, certificateProblems: [] });
    expect(
      lab
        .node('full')
        .mailboxes.all()
        .some((m) => m.recipient === `user@full.${setting}.example`),
    ).toBe(true);
  });

  test.each(['dv', 'cv'])('%s: a leaf without its intermediate is deferred 450 4.7.320', async (setting) => {
    const attempt = await sendFrom(`user@leafonly.${setting}.example`);
    expect(attempt.outcome).toBe('deferred');
    expect(attempt.certificateVerified).toBe(false);
    expect(attempt.tls.secure).toBe(true);
    expect(attempt.tls.peerCertificate?.issuer).toContain('Relaylab Chain Test Issuing CA');
    expect(attempt.certificateProblems).toEqual([expect.stringMatching(/^no trusted issuer found for CN=Relaylab Chain Test Issuing CA.*did not present it/)]);
    const deferred = lab.trace.events.find((e) => e.type === 'deferred' && e.node === 'eop' && e.recipients.includes(`user@leafonly.${setting}.example`));
    expect(deferred).toMatchObject({ reply: expect.stringMatching(/^450 4\.7\.320 Certificate validation failed/) });
    expect(lab.node('leafonly').mailboxes.all()).toHaveLength(0);
  });

  test('an Exchange Server send connector (TlsAuthLevel DomainValidation) defers the leaf alone too, and takes the full chain', async () => {
    const leafOnly = await sendFrom('user@leafonly.dv.example', 'onprem');
    expect(leafOnly).toMatchObject({ outcome: 'deferred', certificateVerified: false, tlsRequirement: 'TlsAuthLevel DomainValidation' });
    const deferred = lab.trace.events.find((e) => e.type === 'deferred' && e.node === 'onprem' && e.recipients.includes('user@leafonly.dv.example'));
    expect(deferred).toMatchObject({ reply: expect.stringMatching(/^450 4\.7\.320 /) });
    expect(await sendFrom('user@full.dv.example', 'onprem')).toMatchObject({ outcome: 'sent', certificateVerified: true });
  });

  test('EncryptionOnly does not check the chain: the leaf alone is enough', async () => {
    const attempt = await sendFrom('user@leafonly.eo.example');
    expect(attempt.outcome).toBe('sent');
  });
});

describe('real clients trusting only the root', () => {
  const sClient = (ip: string, host: string) =>
    run(
      tool('openssl'),
      [
        's_client',
        '-starttls',
        'smtp',
        '-connect',
        `${ip}:${lab.nodeAt(ip) ? lab.node(lab.nodeAt(ip)!).port : 0}`,
        '-servername',
        host,
        '-showcerts',
        '-verify_return_error',
        '-CAfile',
        rootFile,
      ],
      'QUIT\n',
    );

  test('openssl s_client verifies the full chain: leaf and intermediate on the wire', async () => {
    const s = await sClient(FULL_IP, FULL_HOST);
    expect(s.output).toMatch(/Verify return code: 0 \(ok\)/);
    const chain = /Certificate chain\n([\s\S]*?)\n---\n/.exec(s.output)?.[1] ?? '';
    expect(chain.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    expect(chain).toMatch(/^ 1 s:CN ?= ?Relaylab Chain Test Issuing CA/m);
  });

  test('openssl s_client -verify_return_error refuses the leaf alone: unable to get local issuer certificate', async () => {
    const s = await sClient(LEAF_IP, LEAF_HOST);
    expect(s.code).not.toBe(0);
    expect(s.output).toMatch(/verify error:num=20:unable to get local issuer certificate/);
    expect(s.output).not.toMatch(/Verify return code: 0 \(ok\)/);
  });

  const finger = (ip: string, host: string) => run(posttlsFinger(), ['-c', '-l', 'secure', '-F', rootFile, `[${ip}]:${lab.node(lab.nodeAt(ip)!).port}`, host]);

  test('posttls-finger -l secure: the full chain is a Verified TLS connection', async () => {
    const f = await finger(FULL_IP, FULL_HOST);
    expect(f.output).toMatch(/Verified TLS connection established/);
  });

  test('posttls-finger -l secure: the leaf alone is untrusted', async () => {
    const f = await finger(LEAF_IP, LEAF_HOST);
    expect(f.output).not.toMatch(/Verified TLS connection established/);
    expect(f.output).toMatch(/certificate verification failed for .*untrusted issuer .*Relaylab Chain Test Issuing CA/i);
  });
});
