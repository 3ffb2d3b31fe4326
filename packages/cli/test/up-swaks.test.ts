import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePortBase, startRelaylab, type Running } from './process-spawn';
import { tool } from '../../mta/test/debian-tools';

let PORT: number;
let DNS: string;
const dir = mkdtempSync(join(tmpdir(), 'relaylab-up-'));
const out = join(dir, 'out');
let up: Running;

beforeAll(async () => {
  PORT = await freePortBase(['127.0.0.10', '127.0.0.20', '127.0.0.60'], [0], { address: '127.0.0.53', offset: 53 });
  DNS = `127.0.0.53:${PORT + 53}`;
  up = startRelaylab(['up', 'scenarios/topologies/onprem-hybrid.yaml', '--out', out, '--port', String(PORT), '--certs', join(dir, 'certs'), '--dns', DNS]);
  await up.waitFor(/nodes ready; Ctrl-C stops the lab/, 30_000);
}, 40_000);

afterAll(async () => {
  await up?.stop();
});

const swaks = (...args: string[]) =>
  promisify(execFile)(tool('swaks'), ['--server', `127.0.0.10:${PORT}`, '--tls', '--timeout', '10', ...args], { encoding: 'utf8' });

test('the table lists every node with role, address, port, certificate names and mailboxes', () => {
  const text = up.stdout();
  expect(text).toMatch(
    new RegExp(
      `onprem\\s+exchange-server\\s+mail\\.contoso\\.example\\s+127\\.0\\.0\\.10:${PORT}\\s+mail\\.contoso\\.example, autodiscover\\.contoso\\.example\\s+alice@contoso\\.example`,
    ),
  );
  expect(text).toMatch(
    new RegExp(
      `eop\\s+exchange-online\\s+\\S+\\s+127\\.0\\.0\\.20:${PORT}\\s+mail\\.protection\\.outlook\\.example, \\*\\.mail\\.protection\\.outlook\\.example\\s+carol@`,
    ),
  );
  expect(text).toMatch(new RegExp(`printer\\s+device\\s+mfd\\.contoso\\.example\\s+127\\.0\\.0\\.60:${PORT}\\s+-\\s+scanner@`));
});

test('swaks over STARTTLS delivers into the mailbox folder, and a relayed message lands in the next node’s folder', async () => {
  const local = await swaks('--to', 'alice@contoso.example', '--from', 'someone@example.net', '--header', 'Subject: up-test local');
  expect(local.stdout).toMatch(/-> STARTTLS\r?\n<- {1,2}220 /);
  expect(local.stdout).toMatch(/=== TLS started with cipher TLSv1\.[23]:/);
  expect(local.stdout).toMatch(/<~\s+250 2\.6\.0/);
  await swaks('--to', 'carol@contoso.mail.onmicrosoft.example', '--from', 'alice@contoso.example', '--header', 'Subject: up-test relayed');
  await up.waitFor(/delivered \S+ to mailbox carol@contoso\.mail\.onmicrosoft\.example/);

  const aliceDir = join(out, 'mailboxes', 'alice@contoso.example');
  const [file] = readdirSync(aliceDir).filter((f) => f.endsWith('.eml'));
  const eml = readFileSync(join(aliceDir, file), 'utf8');
  expect(eml).toMatch(/^Received: from .* by mail\.contoso\.example .*version=TLS1_[23]/m);
  expect(eml).toMatch(/Subject: up-test local/);
  const carolDir = join(out, 'mailboxes', 'carol@contoso.mail.onmicrosoft.example');
  expect(readFileSync(join(carolDir, readdirSync(carolDir)[0]), 'utf8')).toMatch(/Subject: up-test relayed/);

  // the live hop line names both ends, the TLS and the connector; onprem prints it once eop's 250
  // reached it, which can be after eop delivered
  await up.waitFor(
    new RegExp(
      `onprem → contoso-example\\.mail\\.protection\\.outlook\\.example \\(127\\.0\\.0\\.20:${PORT}\\): sent .* over TLSv1\\.[23] via "Outbound to Office 365"`,
    ),
  );
  const events = readFileSync(join(out, 'trace.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(events.find((e) => e.type === 'received' && e.node === 'onprem')).toMatchObject({ tls: { secure: true }, connector: 'Default Frontend EX01' });
  expect(events.find((e) => e.type === 'received' && e.node === 'eop')).toMatchObject({ remote: { ip: '127.0.0.10' }, connector: 'Inbound from on-premises' });
});

test('with --dns, outside tools resolve the lab’s names', async () => {
  const [address, port] = DNS.split(':');
  const { stdout } = await promisify(execFile)(tool('dig'), [`@${address}`, '-p', port, '+short', 'MX', 'contoso.mail.onmicrosoft.example'], {
    encoding: 'utf8',
  });
  expect(stdout.trim()).toBe('10 contoso-example.mail.protection.outlook.example.');
});

test('SIGTERM shuts the lab down cleanly and exits 0', async () => {
  expect(await up.stop()).toBe(0);
  expect(up.stdout()).toMatch(/relaylab up: SIGTERM, shutting down\nrelaylab up: stopped; 0 queued message\(s\) written to /);
});
