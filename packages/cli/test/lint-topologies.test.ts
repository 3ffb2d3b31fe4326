import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { lintTopology, type LintFinding } from '@relaylab/core';
import { loadTopologyFile } from '@relaylab/lab';
import { repo } from './run-cli';

/**
 * `relaylab lint` on the bundled topologies: every pitfall the issue lists is found in a bad
 * topology made for it, and the good topologies give no finding (what they show on purpose is
 * declared under lint.accept, and those declarations must each still match something).
 */

const topologies = join(repo, 'scenarios/topologies');
const lint = (file: string) => lintTopology({ topology: loadTopologyFile(join(topologies, file)), now: new Date() });
const checks = (findings: LintFinding[]) => [...new Set(findings.map((f) => f.check))].sort();

describe('good bundled topologies', () => {
  const good = readdirSync(topologies).filter((f) => f.endsWith('.yaml'));

  test.each(good)('%s gives no finding', (file) => {
    const result = lint(file);
    expect(result.findings).toEqual([]);
    expect(result.unusedAcceptances).toEqual([]);
  });

  test('there are good topologies to check', () => expect(good.length).toBeGreaterThanOrEqual(10));
});

describe('bad bundled topologies', () => {
  const cases: Array<[string, string[]]> = [
    ['bad-certificate-name.yaml', ['hybrid-certificate-name', 'tls-domain-unmatchable']],
    ['bad-certificate-expired.yaml', ['certificate-expiry']],
    ['bad-send-connector-certificate.yaml', ['send-connector-certificate-name']],
    ['bad-certificate-untrusted.yaml', ['hybrid-certificate-untrusted']],
    ['bad-tls-domain.yaml', ['tls-domain-ignored', 'tls-domain-unmatchable']],
    ['bad-require-tls.yaml', ['require-tls-contradiction', 'require-tls-verifies-nothing']],
    ['bad-device-in-path.yaml', ['device-between-onprem-and-eop']],
    ['bad-hybrid-receive-open.yaml', ['hybrid-receive-any-tenant']],
    ['bad-originator-rule-mx-filter.yaml', ['originator-rule-side-effects']],
    ['bad-centralized-no-internet.yaml', ['centralized-without-internet-connector']],
    ['bad-accepted-domain.yaml', ['accepted-domain-unserved']],
    ['bad-mx.yaml', ['mx-disagrees']],
  ];

  test.each(cases)('%s: %j', (file, expected) => {
    expect(checks(lint(join('lint', file)).findings)).toEqual(expected);
  });

  test('every bad topology in the folder is checked here', () => {
    expect(readdirSync(join(topologies, 'lint')).sort()).toEqual(cases.map(([f]) => f).sort());
  });

  test('each finding names the setting, why, a reference and a fix', () => {
    for (const [file] of cases) {
      for (const f of lint(join('lint', file)).findings) {
        expect(f.connector).toBeTruthy();
        expect(f.parameter).toBeTruthy();
        expect(f.why.length).toBeGreaterThan(40);
        expect(f.fix.length).toBeGreaterThan(20);
        expect(f.reference.url ?? f.reference.title).toMatch(/^(https:\/\/learn\.microsoft\.com\/|field report ")/);
      }
    }
  });

  test('the device finding names the connector and the gateway it reaches', () => {
    const [f] = lint('lint/bad-device-in-path.yaml').findings;
    expect(f).toMatchObject({ node: 'onprem', connector: 'Outbound to Office 365', parameter: 'SmartHosts', severity: 'error' });
    expect(f!.message).toContain('gateway.contoso.example');
  });

  test('the side-effect finding names both victims: Internet mail through the filter and the printer', () => {
    const [f] = lint('lint/bad-originator-rule-mx-filter.yaml').findings;
    expect(f!.message).toContain('MX filter.contoso-cloudfilter.example');
    expect(f!.message).toContain('mfd.contoso.example (127.0.0.60)');
  });
});
