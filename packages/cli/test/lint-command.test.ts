import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo, run } from './run-cli';

/** `relaylab lint` as CI runs it: exit codes, JSON for tools, certificate dates read from the PKI. */

const certs = mkdtempSync(join(tmpdir(), 'relaylab-lint-'));
const topo = (file: string) => join(repo, 'scenarios/topologies', file);

test('a good topology: exit 0, its intended finding listed as accepted', async () => {
  const r = await run(['lint', topo('hybrid.yaml'), '--certs', certs]);
  expect(r.code).toBe(0);
  expect(r.out).toContain('0 error(s), 0 warning(s), 1 accepted');
  expect(r.out).toContain('accepted hybrid-receive-any-tenant (node onprem)');
}, 30_000);

test('an error finding: exit 1, with the setting, why, fix and reference', async () => {
  const r = await run(['lint', topo('lint/bad-device-in-path.yaml'), '--certs', certs]);
  expect(r.code).toBe(1);
  expect(r.out).toMatch(/error +device-between-onprem-and-eop \(node onprem\): Outbound to Office 365 · SmartHosts/);
  expect(r.out).toMatch(/why: .*X-MS-Exchange-CrossPremises/);
  expect(r.out).toContain('fix: Set-SendConnector "Outbound to Office 365"');
  expect(r.out).toContain('see: Transport options in Exchange hybrid deployments <https://learn.microsoft.com/');
}, 30_000);

test('warnings alone exit 0, and 1 with --fail-on warning', async () => {
  const file = topo('lint/bad-hybrid-receive-open.yaml');
  expect((await run(['lint', file, '--certs', certs])).code).toBe(0);
  expect((await run(['lint', file, '--certs', certs, '--fail-on', 'warning'])).code).toBe(1);
}, 30_000);

test('--format json: the findings and the expiry date the PKI certificate carries', async () => {
  const r = await run(['lint', topo('lint/bad-certificate-expired.yaml'), '--certs', certs, '--format', 'json']);
  expect(r.code).toBe(1);
  const { files } = JSON.parse(r.out) as { files: Array<{ file: string; findings: Array<{ check: string; message: string }> }> };
  expect(files).toHaveLength(1);
  expect(files[0]!.findings.map((f) => f.check)).toEqual(['certificate-expiry']);
  expect(files[0]!.findings[0]!.message).toMatch(/expired on \d{4}-\d{2}-\d{2}/);
}, 30_000);

test('--expiry-warning reaches a valid certificate within that many days', async () => {
  const r = await run(['lint', topo('onprem-hybrid.yaml'), '--certs', certs, '--expiry-warning', '500']);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/warning certificate-expiry \(node onprem\)[\s\S]*expires in \d+ day\(s\)/);
}, 30_000);

test('a scenario file is linted on its patched topology', async () => {
  const r = await run(['lint', join(repo, 'scenarios/tenant-connector-attack-naive-rule.yaml'), '--certs', certs]);
  expect(r.code).toBe(1);
  expect(r.out).toContain('originator-rule-side-effects');
}, 30_000);

test('usage and input errors exit 2', async () => {
  expect((await run(['lint'])).code).toBe(2);
  expect((await run(['lint', topo('hybrid.yaml'), '--format', 'xml'])).code).toBe(2);
  const missing = await run(['lint', join(repo, 'no-such-topology.yaml')]);
  expect(missing.code).toBe(2);
  expect(missing.err).toContain('no-such-topology.yaml');
});

test('a folder, a pipe or a device is refused by name (exit 2), not read until it ends', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-lint-fifo-'));
  const fifo = join(dir, 'topology.yaml');
  execFileSync('mkfifo', [fifo]);
  const piped = await run(['lint', fifo]);
  expect(piped.code).toBe(2);
  expect(piped.err).toBe(`relaylab lint: ${fifo}: not a file (a folder, a pipe or a device)\n`);
  const folder = await run(['lint', dir]);
  expect(folder.code).toBe(2);
  expect(folder.err).toContain(`${dir}: not a file`);
  rmSync(dir, { recursive: true });
});
