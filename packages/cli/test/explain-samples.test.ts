import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { explainMessage, replayScenario } from '@relaylab/core';
import { loadScenarioFile, runScenario } from '@relaylab/lab';
import { repo, run } from './run-cli';

/**
 * `relaylab explain` on the project's sample header sets (examples/headers): the classification
 * and what broke it, and the acceptance check — each sample's path replayed in the lab
 * (`--scenario`) is classified by the lab the way the headers say production classified it.
 */

const samples = join(repo, 'examples/headers');
const read = (name: string) => readFileSync(join(samples, `${name}.eml`));
const tmp = mkdtempSync(join(tmpdir(), 'relaylab-explain-'));

const CASES: Array<[string, { authAs: string; internal: boolean; causes: string[]; sfv: string; path: string[] }]> = [
  ['onprem-to-cloud-internal', { authAs: 'Internal', internal: true, causes: [], sfv: 'SKI', path: ['onprem', 'eop'] }],
  ['internet-to-cloud-postfix', { authAs: 'Anonymous', internal: false, causes: [], sfv: 'NSPM', path: ['tailspin', 'eop'] }],
  ['gateway-breaks-internal', { authAs: 'Anonymous', internal: false, causes: ['device-in-path'], sfv: 'NSPM', path: ['onprem', 'gateway', 'eop'] }],
  ['onprem-to-cloud-plaintext', { authAs: 'Anonymous', internal: false, causes: ['hybrid-hop-plaintext'], sfv: 'SPM', path: ['onprem', 'eop'] }],
  ['onprem-to-cloud-certificate-mismatch', { authAs: 'Anonymous', internal: false, causes: ['certificate-not-matched'], sfv: 'NSPM', path: ['onprem', 'eop'] }],
  ['other-tenant-connector', { authAs: 'Internal', internal: true, causes: ['foreign-tenant'], sfv: 'NSPM', path: ['eop-woodgrove', 'onprem'] }],
];

describe.each(CASES)('%s', (name, expected) => {
  const e = explainMessage(read(name));

  test('classification and what broke it', () => {
    expect(e.classification).toMatchObject({ authAs: expected.authAs, internal: expected.internal, causes: expected.causes, filtering: { sfv: expected.sfv } });
    expect(e.classification.problems).toHaveLength(expected.causes.length);
  });

  test('replayed in the lab, the path is classified as the headers say', async () => {
    const file = join(tmp, `${name}.yaml`);
    const { text, replay } = replayScenario(e, name, (t) => relative(tmp, join(repo, 'scenarios/topologies', t)));
    expect(replay.path).toEqual(expected.path);
    expect(replay.unsupported).toBeUndefined();
    writeFileSync(file, text);
    const result = await runScenario(loadScenarioFile(file), { certsDir: join(repo, 'certs') });
    expect(result.failures).toEqual([]);
    expect(result.passed).toBe(true);
  }, 30_000);
});

test('the Received chain of the internal sample: TLS per hop and the connectors implied', () => {
  const e = explainMessage(read('onprem-to-cloud-internal'));
  expect(e.hops.map((h) => [h.kind, h.tls?.protocol ?? (h.tls === null ? 'none' : '?')])).toEqual([
    ['exchange-server', '?'],
    ['exchange-server', 'TLSv1.2'],
    ['exchange-online', 'TLSv1.2'],
    ['exchange-online', 'TLSv1.3'],
    ['exchange-online', 'TLSv1.2'],
    ['exchange-online', '?'],
  ]);
  expect(e.hops[2]!.connectors.join('\n')).toMatch(/CloudServicesMailEnabled[\s\S]*OnPremises inbound connector matched by the sending certificate/);
  expect(e.stamps.organization).toEqual({
    authAs: 'Internal',
    authSource: 'EX01.contoso.example',
    authMechanism: '04',
    directionality: 'Originating',
    scl: '-1',
  });
  expect(e.stamps.crossTenant.FromEntityHeader).toBe('HybridOnPrem');
});

describe('relaylab explain (command)', () => {
  test('text: the verdict, the hops, every antispam field, Authentication-Results', async () => {
    const r = await run(['explain', join(samples, 'gateway-breaks-internal.eml')]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Verdict: treated as EXTERNAL (AuthAs Anonymous)');
    expect(r.out).toMatch(/! hop 2: gateway\.contoso\.example is not Exchange/);
    expect(r.out).toContain('TLS: TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384 (256 bits)');
    expect(r.out).toMatch(/SFS:\(13230040\) +\[undocumented\]/);
    expect(r.out).toContain('dmarc=pass action=none header.from=contoso.example');
  });

  test('json, and --scenario writes a scenario the runner accepts', async () => {
    const file = join(tmp, 'from-cli.yaml');
    const r = await run(['explain', join(samples, 'other-tenant-connector.eml'), '--format', 'json', '--scenario', file]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).classification.causes).toEqual(['foreign-tenant']);
    expect(loadScenarioFile(file).messages[0]).toMatchObject({ via: 'eop-woodgrove', to: ['alice@contoso.example'] });
  });

  test('--org names the organization when X-OriginatorOrg is missing', async () => {
    const raw = read('gateway-breaks-internal')
      .toString('latin1')
      .replace(/^X-OriginatorOrg:.*\n/m, '');
    writeFileSync(join(tmp, 'no-originator.eml'), raw);
    expect((await run(['explain', join(tmp, 'no-originator.eml'), '--format', 'json'])).out).not.toContain('device-in-path');
    expect((await run(['explain', join(tmp, 'no-originator.eml'), '--format', 'json', '--org', 'contoso.example'])).out).toContain('device-in-path');
  });

  test('bad input exits 2', async () => {
    writeFileSync(join(tmp, 'empty.eml'), '');
    writeFileSync(join(tmp, 'body-only.eml'), 'hello\r\n');
    expect((await run(['explain'])).code).toBe(2);
    expect((await run(['explain', join(tmp, 'empty.eml')])).code).toBe(2);
    expect((await run(['explain', join(tmp, 'body-only.eml')])).code).toBe(2);
    expect((await run(['explain', join(tmp, 'missing.eml')])).code).toBe(2);
  });
});
