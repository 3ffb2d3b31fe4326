import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo, run } from './run-cli';

const certs = mkdtempSync(join(tmpdir(), 'relaylab-cli-'));

test('run prints each scenario and the summary line, and exits 0 when all pass', async () => {
  const r = await run(['run', join(repo, 'scenarios/partner-forced-tls-inbound.yaml'), '--certs', certs]);
  expect(r.err).toBe('');
  expect(r.out).toMatch(/✓ PASS partner-forced-tls-inbound/);
  expect(r.out.trim().split('\n').pop()).toBe('1 passed, 0 failed');
  expect(r.code).toBe(0);
});

test('a second run reuses the cached certificates, and --trace writes the hops as JSON lines', async () => {
  const traceFile = join(certs, 'trace.jsonl');
  const r = await run(['run', join(repo, 'scenarios/partner-forced-tls-inbound.yaml'), '--certs', certs, '--trace', traceFile]);
  expect(r.out).toMatch(/certificates: \d+ reused from .*, 0 generated/);
  const events = readFileSync(traceFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const attempt = events.find((e) => e.type === 'attempt' && e.outcome === 'sent');
  expect(attempt).toMatchObject({
    scenario: 'partner-forced-tls-inbound',
    node: 'fabrikam',
    destination: { ip: '127.0.0.20' },
    tls: { secure: true },
    tracking: { eventId: 'SEND', source: 'SMTP' },
  });
  expect(attempt.tls.peerCertificate.sans).toContain('*.mail.protection.outlook.example');
  expect(attempt.tls.localCertificate.subject).toContain('mail.fabrikam.example');
  const received = events.find((e) => e.type === 'received');
  expect(received).toMatchObject({
    node: 'eop',
    ehlo: 'mail.fabrikam.example',
    connector: 'Inbound from Fabrikam',
    remote: { ip: '127.0.0.30' },
    tracking: { eventId: 'RECEIVE', source: 'SMTP' },
  });
  expect(events.find((e) => e.type === 'delivered')).toMatchObject({ tracking: { eventId: 'DELIVER', source: 'STOREDRIVER' } });
  expect(events.some((e) => e.type === 'header' && e.name === 'Received' && e.node === 'eop')).toBe(true);
});

test('a failing scenario exits 1 and shows expected against actual', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-cli-scn-'));
  writeFileSync(
    join(dir, 'wrong.yaml'),
    [
      'name: wrong',
      `topology: ${join(repo, 'scenarios/topologies/partner-tls.yaml')}`,
      'messages:',
      '  - { id: m1, from: carol@fabrikam.example, to: [bob@contoso.example], via: fabrikam-other }',
      'expect:',
      '  - { message: m1, state: delivered }',
      '',
    ].join('\n'),
  );
  const r = await run(['run', dir, '--certs', certs]);
  expect(r.code).toBe(1);
  expect(r.out).toMatch(/✗ FAIL wrong/);
  expect(r.out).toMatch(/expected: delivered\n\s+actual:\s+rejected/);
  expect(r.out.trim().split('\n').pop()).toBe('0 passed, 1 failed');
});

test('a malformed scenario exits 2 with file, line and field before anything runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-cli-bad-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(
    file,
    [
      'name: bad',
      `topology: ${join(repo, 'scenarios/topologies/partner-tls.yaml')}`,
      'messages:',
      '  - { id: m1, from: a@fabrikam.example, to: [bob@contoso.example], via: nowhere }',
      'expect:',
      '  - { message: m1, state: delivered }',
      '',
    ].join('\n'),
  );
  const r = await run(['run', file, '--certs', certs]);
  expect(r.code).toBe(2);
  expect(r.out).toBe('');
  expect(r.err).toContain(`${file}:4:`);
  expect(r.err).toMatch(/messages\[0\]\.via/);
});

test('a malformed duration in advance is reported with its line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-cli-adv-'));
  const file = join(dir, 'adv.yaml');
  writeFileSync(
    file,
    [
      'name: adv',
      `topology: ${join(repo, 'scenarios/topologies/partner-tls.yaml')}`,
      'messages:',
      '  - { id: m1, from: alice@fabrikam.example, to: [bob@contoso.example], via: fabrikam }',
      'advance: a while',
      'expect:',
      '  - { message: m1, state: delivered }',
      '',
    ].join('\n'),
  );
  const r = await run(['run', file, '--certs', certs]);
  expect(r.code).toBe(2);
  expect(r.err).toContain(`${file}:5:`);
  expect(r.err).toMatch(/advance/);
});

test('a mistake inside a topology patch is reported at the patch, with the field', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-cli-patch-'));
  const file = join(dir, 'patch.yaml');
  writeFileSync(
    file,
    [
      'name: patch',
      `topology: ${join(repo, 'scenarios/topologies/hybrid.yaml')}`,
      'patch:',
      '  nodes:',
      '    onprem:',
      '      transportRules:',
      '        - { Name: r1, DeleteMesage: true }',
      'messages:',
      '  - { id: m1, from: tom@tailspin.example, to: [alice@contoso.example], via: tailspin }',
      'expect:',
      '  - { message: m1, state: delivered }',
      '',
    ].join('\n'),
  );
  const r = await run(['run', file, '--certs', certs]);
  expect(r.code).toBe(2);
  expect(r.err).toContain(`${file}:7:`);
  expect(r.err).toMatch(/patch\.nodes\.onprem\.transportRules\[0\]\.DeleteMesage: unknown field "DeleteMesage" \(did you mean "DeleteMessage"\?\)/);
});

test('an invalid --grep and an unwritable --trace are one-line errors with exit 2, and the run still reports', async () => {
  const grep = await run(['run', join(repo, 'scenarios'), '--grep', '(']);
  expect(grep.code).toBe(2);
  expect(grep.err).toMatch(/^relaylab run: --grep: Invalid regular expression/);
  expect(grep.err).not.toMatch(/\n\s+at /);
  const trace = await run(['run', join(repo, 'scenarios/partner-forced-tls-inbound.yaml'), '--certs', certs, '--trace', join(certs, 'missing-dir', 't.jsonl')]);
  expect(trace.code).toBe(2);
  expect(trace.err).toMatch(/^relaylab run: --trace: ENOENT/);
  expect(trace.out.trim().split('\n').pop()).toBe('1 passed, 0 failed');
});

test('--list, --grep and --help', async () => {
  const list = await run(['run', join(repo, 'scenarios'), '--list', '--grep', 'tls-domain-validation']);
  expect(list.code).toBe(0);
  expect(list.out.trim().split('\n')).toEqual([expect.stringMatching(/^outbound-tls-domain-validation\tDomainValidation/)]);
  const help = await run(['--help']);
  expect(help.code).toBe(0);
  expect(help.out).toMatch(/relaylab run \[paths\.\.\.\]/);
  const unknown = await run(['fly']);
  expect(unknown.code).toBe(2);
});

test('--settle-timeout bounds each settle: a bad value is a usage error, a tiny one fails the scenario saying so', async () => {
  const bad = await run(['run', join(repo, 'scenarios/partner-forced-tls-inbound.yaml'), '--certs', certs, '--settle-timeout', '0']);
  expect(bad.code).toBe(2);
  expect(bad.err).toMatch(/--settle-timeout expects a number of seconds above 0, got "0"/);
  const tiny = await run(['run', join(repo, 'scenarios/partner-forced-tls-inbound.yaml'), '--certs', certs, '--settle-timeout', '0.001']);
  expect(tiny.code).toBe(1);
  expect(tiny.out).toMatch(/did not settle within 0\.001s/);
});
