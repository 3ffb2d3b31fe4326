import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo, run } from './run-cli';

const certs = mkdtempSync(join(tmpdir(), 'relaylab-cli-rep-'));

test('--reporter takes several reporters at once; file reporters write under --output', async () => {
  const output = join(mkdtempSync(join(tmpdir(), 'relaylab-cli-out-')), 'report');
  const r = await run([
    'run',
    join(repo, 'scenarios/partner-forced-tls-inbound.yaml'),
    '--certs',
    certs,
    '--reporter',
    'pretty,json',
    '--reporter',
    'junit,html',
    '--output',
    output,
  ]);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/✓ PASS partner-forced-tls-inbound/);
  for (const file of ['results.json', 'junit.xml', 'index.html']) {
    expect(existsSync(join(output, file))).toBe(true);
    expect(r.out).toContain(`report: ${join(output, file)}`);
  }
  expect(JSON.parse(readFileSync(join(output, 'results.json'), 'utf8')).summary).toEqual({ scenarios: 1, passed: 1, failed: 0 });
  expect(readFileSync(join(output, 'junit.xml'), 'utf8')).toMatch(/<testsuites name="relaylab" tests="3" failures="0"/);
  expect(r.out.trim().split('\n').pop()).toBe('1 passed, 0 failed');
});

test('without pretty the console shows only where the reports are and the summary', async () => {
  const output = mkdtempSync(join(tmpdir(), 'relaylab-cli-out-'));
  const r = await run(['run', join(repo, 'scenarios/partner-forced-tls-inbound.yaml'), '--certs', certs, '--reporter', 'junit', '--output', output]);
  expect(r.code).toBe(0);
  expect(r.out).not.toMatch(/PASS/);
  expect(r.out).toContain(`report: ${join(output, 'junit.xml')}`);
});

test('an unknown reporter is a usage error before anything runs', async () => {
  const r = await run(['run', join(repo, 'scenarios/partner-forced-tls-inbound.yaml'), '--certs', certs, '--reporter', 'pretty,xml']);
  expect(r.code).toBe(2);
  expect(r.out).toBe('');
  expect(r.err).toContain('unknown reporter "xml"; choose from pretty, json, junit, html');
});
