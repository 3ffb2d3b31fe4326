import { spawn } from 'node:child_process';
import { randomUUID, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ReceivedEvent, Topology } from '@relaylab/core';
import { Lab } from '@relaylab/lab';
import { tool, type DebianTool } from './debian-tools';

/**
 * Real SMTP clients (swaks, openssl s_client) against real lab nodes: what an administrator
 * would type to test a connector must see what the lab claims to offer.
 */

const CA_NAME = 'Relaylab Real Clients Root CA';
const EOP_HOST = 'contoso-example.mail.protection.outlook.example';
const EOP_IP = '127.0.0.120';
const TAILSPIN_IP = '127.0.0.121';

const topology: Topology = {
  name: 'real-clients',
  authorities: { 'lab-root': { commonName: CA_NAME } },
  certificates: {
    eop: { subject: 'mail.protection.outlook.example', sans: ['mail.protection.outlook.example', '*.mail.protection.outlook.example'], issuer: 'lab-root' },
    tailspin: { subject: 'mx.tailspin.example', issuer: 'lab-root' },
  },
  organizations: {
    contoso: { domains: ['contoso.example'] },
    tailspin: { domains: ['tailspin.example'] },
  },
  nodes: {
    eop: {
      role: 'exchange-online',
      hostname: EOP_HOST,
      address: EOP_IP,
      organization: 'contoso',
      certificate: 'eop',
      mailboxes: ['bob@contoso.example'],
    },
    tailspin: {
      role: 'internet',
      hostname: 'mx.tailspin.example',
      address: TAILSPIN_IP,
      organization: 'tailspin',
      // It has a certificate: STARTTLS is off only because the topology says so.
      certificate: 'tailspin',
      starttls: false,
      mailboxes: ['x@tailspin.example'],
    },
  },
};

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run a program, feed it `input` on stdin, never throw on a non-zero exit. */
function run(cmd: DebianTool, args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool(cmd), args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: options.timeoutMs ?? 8000, killSignal: 'SIGKILL' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** Split raw message bytes at the first empty line: [header block including its last CRLF, body]. */
function split(raw: Buffer): { head: Buffer; body: Buffer } {
  const at = raw.indexOf('\r\n\r\n');
  if (at < 0) throw new Error('message has no header/body separator');
  return { head: raw.subarray(0, at + 2), body: raw.subarray(at + 4) };
}

const receivedEvents = (lab: Lab, messageId: string): ReceivedEvent[] =>
  lab.trace.events.filter((e): e is ReceivedEvent => e.type === 'received' && e.messageId === messageId);

let tmp: string;
let lab: Lab;
let caFile: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'relaylab-real-clients-'));
  lab = await Lab.start(topology, { certsDir: path.join(tmp, 'certs') });
  caFile = path.join(tmp, 'lab-root.pem');
  fs.writeFileSync(caFile, lab.certificates.authorities.get('lab-root')!.certPem);
}, 20_000);

afterAll(async () => {
  await lab?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('swaks against the Exchange Online node', () => {
  test('STARTTLS, 250 2.6.0, and the message stored byte for byte behind one Received header', async () => {
    const port = lab.node('eop').port;
    expect(port).toBeGreaterThan(0);

    const messageId = `<${randomUUID()}@swaks.fabrikam.example>`;
    const headerLines = [
      'From: Alice <alice@fabrikam.example>',
      'To: Bob <bob@contoso.example>',
      'Subject: real client check',
      `Message-ID: ${messageId}`,
      'Date: Mon, 1 Jan 2024 10:00:00 +0000',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
    ];
    const bodyLines = [
      'Hello Bob,',
      '',
      '.a line that starts with a dot (swaks stuffs it, the server must unstuff it)',
      '..two dots',
      'Non-ASCII: Grüße aus Köln, naïve café, 日本語, €',
      '',
      '-- ',
      'Alice',
    ];
    // swaks always appends "\r\n." to the DATA it read, so the file leaves off the last line's CRLF:
    // on the wire (and in the mailbox) the message is the file plus that CRLF.
    const file = Buffer.from(headerLines.join('\r\n') + '\r\n\r\n' + bodyLines.join('\r\n'), 'utf8');
    const data = Buffer.concat([file, Buffer.from('\r\n')]);
    expect(data.some((b) => b > 0x7f)).toBe(true);
    const dataFile = path.join(tmp, 'message.eml');
    fs.writeFileSync(dataFile, file);

    const swaks = await run(
      'swaks',
      [
        '--server',
        EOP_IP,
        '--port',
        String(port),
        '--tls',
        '--from',
        'alice@fabrikam.example',
        '--to',
        'bob@contoso.example',
        '--ehlo',
        'swaks.fabrikam.example',
        '--data',
        dataFile,
      ],
      { timeoutMs: 8000 },
    );
    const transcript = swaks.stdout + swaks.stderr;
    expect({ code: swaks.code, transcript }).toEqual({ code: 0, transcript: expect.any(String) });
    // Plaintext EHLO offers STARTTLS; the server answers 220 to it; the rest happens inside TLS (`~>`/`<~`).
    expect(transcript).toMatch(/<- {1,2}250[ -]STARTTLS/);
    expect(transcript).toMatch(/-> STARTTLS\r?\n<- {1,2}220 /);
    expect(transcript).toMatch(/=== TLS started with cipher TLSv1\.[23]:/);
    expect(transcript).toMatch(/<~ {1,2}250 2\.6\.0 /);
    expect(transcript).toContain(`250 2.6.0 ${messageId} [InternalId=`);
    expect(transcript).toContain(`, Hostname=${EOP_HOST}] Queued mail for delivery`);
    // What swaks put on the wire between 354 and the final dot, unstuffed, is exactly `data`.
    const wire = /<~ {1,2}354 [^\n]*\n((?: ~> [^\n]*\n)*?) ~> \.\r?\n/.exec(transcript)?.[1];
    expect(wire).toBeDefined();
    const wireLines = wire!
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.replace(/^ ~> /, '').replace(/\r$/, ''));
    expect(wireLines).toContain('..a line that starts with a dot (swaks stuffs it, the server must unstuff it)');
    expect(Buffer.from(wireLines.map((l) => l.replace(/^\./, '') + '\r\n').join(''), 'utf8').equals(data)).toBe(true);

    const stored = lab
      .node('eop')
      .mailboxes.get('bob@contoso.example')
      .filter((m) => m.messageId === messageId);
    expect(stored).toHaveLength(1);
    const raw = stored[0].raw;

    // Body: identical bytes, dot unstuffed, UTF-8 untouched.
    expect(split(raw).body.equals(split(data).body)).toBe(true);
    expect(split(raw).body.toString('utf8')).toContain('Grüße aus Köln, naïve café, 日本語, €');

    // Headers: only the lines the trace says eop prepended (Received first, then its classification
    // stamps on top), each one line; below them what swaks sent, byte for byte.
    const prepends = lab.trace.events.filter((e) => e.type === 'header' && e.node === 'eop' && e.messageId === messageId && e.op === 'prepend');
    expect(lab.trace.events.some((e) => e.type === 'header' && e.node === 'eop' && e.messageId === messageId && e.op === 'remove')).toBe(false);
    expect(prepends.map((e) => (e.type === 'header' ? e.name : ''))).toEqual(
      expect.arrayContaining(['Received', 'X-MS-Exchange-Organization-AuthAs', 'X-Forefront-Antispam-Report']),
    );
    const storedHeaderLines = split(raw).head.toString('utf8').split('\r\n').filter(Boolean);
    const receivedLine = storedHeaderLines[prepends.length - 1];
    expect(receivedLine).toMatch(/^Received: /);
    expect(receivedLine).toContain('with Microsoft SMTP Server (version=TLS1_');
    const clientIp = receivedEvents(lab, messageId)[0]?.remote.ip;
    expect(clientIp).toMatch(/^127\./);
    expect(receivedLine).toContain(`from swaks.fabrikam.example (${clientIp}) by ${EOP_HOST} (${EOP_IP})`);
    expect(storedHeaderLines).toContain('X-MS-Exchange-Organization-AuthAs: Anonymous');
    expect(storedHeaderLines.slice(prepends.length)).toEqual(headerLines);
    let offset = 0;
    for (let i = 0; i < prepends.length; i++) offset = raw.indexOf('\r\n', offset) + 2;
    expect(raw.subarray(offset).equals(data)).toBe(true);

    const events = receivedEvents(lab, messageId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      node: 'eop',
      from: 'alice@fabrikam.example',
      to: ['bob@contoso.example'],
      ehlo: 'swaks.fabrikam.example',
      local: { ip: EOP_IP, port },
      tls: { secure: true, starttlsOffered: true },
    });
    expect(events[0].tls.protocol).toMatch(/^TLSv1\.[23]$/);
    // swaks presented no client certificate.
    expect(events[0].tls.peerCertificate).toBeUndefined();
    expect(lab.trace.events.some((e) => e.type === 'delivered' && e.messageId === messageId && e.recipient === 'bob@contoso.example')).toBe(true);
  });
});

describe('openssl s_client against the Exchange Online node', () => {
  test('STARTTLS shows the EOP certificate, issued by the lab CA, verifying against it', async () => {
    const port = lab.node('eop').port;
    const s = await run(
      'openssl',
      [
        's_client',
        '-starttls',
        'smtp',
        '-connect',
        `${EOP_IP}:${port}`,
        '-servername',
        EOP_HOST,
        '-showcerts',
        '-CAfile',
        caFile,
        '-verify_hostname',
        EOP_HOST,
      ],
      { input: 'QUIT\n', timeoutMs: 8000 },
    );
    const output = s.stdout + s.stderr;
    expect(s.signal).toBeNull();
    expect(output).toContain('CONNECTED(');

    // The chain as printed: depth 0 is the EOP leaf, issued by the lab CA.
    const chain = /Certificate chain\n([\s\S]*?)\n---\n/.exec(s.stdout)?.[1];
    expect(chain).toBeDefined();
    expect(chain).toMatch(/^ 0 s:CN ?= ?mail\.protection\.outlook\.example$/m);
    expect(chain).toMatch(new RegExp(`^ {3}i:CN ?= ?${CA_NAME.replace(/\./g, '\\.')}(,|$)`, 'm'));
    // Lab CAs are roots: the server sends just the leaf.
    expect(chain!.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(1);
    expect(output).toMatch(/Verify return code: 0 \(ok\)/);
    // -verify_hostname passed through the wildcard SAN.
    expect(output).toContain('Verified peername: *.mail.protection.outlook.example');

    // Inspect the first certificate shown with openssl itself.
    const firstPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(s.stdout)?.[0];
    expect(firstPem).toBeDefined();
    const x509 = await run('openssl', ['x509', '-noout', '-subject', '-issuer', '-ext', 'subjectAltName'], { input: firstPem, timeoutMs: 5000 });
    expect(x509.code).toBe(0);
    expect(x509.stdout).toMatch(/^subject=CN ?= ?mail\.protection\.outlook\.example$/m);
    expect(x509.stdout).toMatch(new RegExp(`^issuer=CN ?= ?${CA_NAME}`, 'm'));
    expect(x509.stdout).toContain('DNS:mail.protection.outlook.example');
    expect(x509.stdout).toContain('DNS:*.mail.protection.outlook.example');

    // And it is the very certificate the lab issued for the node.
    const issued = lab.certificates.certificates.get('eop')!;
    expect(new X509Certificate(firstPem!).fingerprint256).toBe(new X509Certificate(issued.certPem).fingerprint256);
  });
});

describe('a node with starttls: false', () => {
  const swaksTo = (extra: string[], dataFile: string) =>
    run(
      'swaks',
      [
        '--server',
        TAILSPIN_IP,
        '--port',
        String(lab.node('tailspin').port),
        '--from',
        'alice@fabrikam.example',
        '--to',
        'x@tailspin.example',
        '--ehlo',
        'swaks.fabrikam.example',
        '--data',
        dataFile,
        ...extra,
      ],
      { timeoutMs: 8000 },
    );

  const message = (messageId: string) => {
    const file = path.join(tmp, `${randomUUID()}.eml`);
    fs.writeFileSync(file, `From: alice@fabrikam.example\r\nTo: x@tailspin.example\r\nSubject: no tls\r\nMessage-ID: ${messageId}\r\n\r\nplain text only\r\n`);
    return file;
  };

  test('swaks --tls fails because STARTTLS is not offered; nothing is received', async () => {
    const messageId = `<${randomUUID()}@swaks.fabrikam.example>`;
    const swaks = await swaksTo(['--tls'], message(messageId));
    const transcript = swaks.stdout + swaks.stderr;
    expect(swaks.signal).toBeNull();
    expect(swaks.code).not.toBe(0);
    expect(swaks.code).toBe(29); // swaks' exit status for "TLS required but not negotiated"
    expect(transcript).toMatch(/<- {1,2}250 /); // it did get an EHLO reply
    expect(transcript).not.toMatch(/250[ -]STARTTLS/);
    expect(transcript).toContain('Host did not advertise STARTTLS');
    expect(transcript).not.toMatch(/-> STARTTLS/);
    expect(transcript).not.toMatch(/-> MAIL FROM/);
    expect(receivedEvents(lab, messageId)).toHaveLength(0);
    expect(
      lab
        .node('tailspin')
        .mailboxes.get('x@tailspin.example')
        .filter((m) => m.messageId === messageId),
    ).toHaveLength(0);
  });

  test('plain swaks succeeds and the session is recorded as not encrypted', async () => {
    const messageId = `<${randomUUID()}@swaks.fabrikam.example>`;
    const swaks = await swaksTo([], message(messageId));
    const transcript = swaks.stdout + swaks.stderr;
    expect({ code: swaks.code, transcript }).toEqual({ code: 0, transcript: expect.any(String) });
    expect(transcript).not.toMatch(/250[ -]STARTTLS/);
    expect(transcript).toMatch(/<- {1,2}250 /);

    const events = receivedEvents(lab, messageId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ node: 'tailspin', tls: { secure: false, starttlsOffered: false }, local: { ip: TAILSPIN_IP } });
    const stored = lab
      .node('tailspin')
      .mailboxes.get('x@tailspin.example')
      .filter((m) => m.messageId === messageId);
    expect(stored).toHaveLength(1);
    // Postfix-style Received header of a plaintext session.
    const first = stored[0].raw.toString('latin1').split('\r\n')[0];
    expect(first).toMatch(/^Received: from swaks\.fabrikam\.example /);
    expect(stored[0].raw.toString('latin1')).toMatch(/by mx\.tailspin\.example \(Postfix\) with ESMTP id /);
  });
});
