import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Pki } from '@relaylab/pki';
import { formatFailure, loadScenarios, runScenarios, type ScenarioResult } from '@relaylab/lab';

const scenariosDir = resolve(__dirname, '../../../scenarios');
let results: ScenarioResult[];

beforeAll(async () => {
  const loaded = loadScenarios([scenariosDir]);
  expect(loaded.errors.map((e) => e.message)).toEqual([]);
  const certsDir = mkdtempSync(join(tmpdir(), 'relaylab-bundled-'));
  results = await runScenarios(loaded.scenarios, { certsDir, pki: new Pki({ dir: certsDir }), concurrency: 4 });
}, 120_000);

const byName = (name: string) => {
  const r = results.find((x) => x.scenario.name === name);
  if (!r) throw new Error(`scenario ${name} is not bundled`);
  return r;
};
const fate = (scenario: string, message: string) => byName(scenario).fates.find((f) => f.message === message)!.fate;

test('every bundled scenario passes, with every message accounted for', () => {
  const report = results
    .filter((r) => !r.passed)
    .map((r) => `${r.scenario.name}: ${r.error ?? ''}\n${r.failures.map(formatFailure).join('\n')}\n${r.unaccounted.join('\n')}`);
  expect(report).toEqual([]);
  expect(results.length).toBeGreaterThanOrEqual(5);
});

describe('partner forced TLS inbound, as the trace recorded it', () => {
  test('the matching certificate is delivered through the Partner connector over TLS', () => {
    const f = fate('partner-forced-tls-inbound', 'good-cert');
    expect(f.state).toBe('delivered');
    expect(f.hops[0]).toMatchObject({ from: 'fabrikam', to: 'eop', inboundConnector: 'Inbound from Fabrikam', certificateVerified: true });
    expect(f.hops[0].tls).toMatch(/^TLSv1\.[23]$/);
  });
  test('another certificate name is refused with 550 5.7.51, naming both names', () => {
    const f = fate('partner-forced-tls-inbound', 'wrong-cert');
    expect(f.state).toBe('rejected');
    expect(f.node).toBe('eop');
    expect(f.reply).toMatch(/^550 5\.7\.51 TenantInboundAttribution/);
    const refused = byName('partner-forced-tls-inbound').trace.find((e) => e.type === 'refused');
    expect(refused).toMatchObject({ node: 'eop', command: 'MAIL FROM' });
    expect(refused && 'reason' in refused && refused.reason).toMatch(/relay\.fabrikam-hosting\.example.*TlsSenderCertificateName: mail\.fabrikam\.example/);
  });
});

describe('outbound TLS settings against each receiver certificate', () => {
  const table: Array<[string, string, string, string | undefined]> = [
    // scenario, message, state, code
    ['outbound-tls-opportunistic', 'to-plain', 'delivered', undefined],
    ['outbound-tls-opportunistic', 'to-selfsigned', 'delivered', undefined],
    ['outbound-tls-encryption-only', 'to-expired', 'delivered', undefined],
    ['outbound-tls-encryption-only', 'to-plain', 'deferred', '450 4.4.317'],
    ['outbound-tls-certificate-validation', 'to-wrongname', 'delivered', undefined],
    ['outbound-tls-certificate-validation', 'to-selfsigned', 'deferred', '450 4.7.320'],
    ['outbound-tls-certificate-validation', 'to-expired', 'deferred', '450 4.7.320'],
    ['outbound-tls-certificate-validation', 'to-revoked', 'deferred', '450 4.7.320'],
    ['outbound-tls-certificate-validation', 'to-untrusted', 'deferred', '450 4.7.320'],
    ['outbound-tls-domain-validation', 'to-valid', 'delivered', undefined],
    ['outbound-tls-domain-validation', 'to-wrongname', 'deferred', '450 4.7.320'],
    ['outbound-tls-domain-validation', 'to-plain', 'deferred', '450 4.4.317'],
  ];
  test.each(table)('%s: %s → %s %s', (scenario, message, state, code) => {
    const f = fate(scenario, message);
    expect(f.state).toBe(state);
    if (code) expect(f.reply).toMatch(new RegExp(`^${code.replace(/\./g, '\\.')}`));
  });

  test('opportunistic delivery to a receiver without STARTTLS goes in plaintext and the trace says so', () => {
    const f = fate('outbound-tls-opportunistic', 'to-plain');
    expect(f.hops[0].tls).toBe('none');
    expect(f.hops[0].tlsDecision).toMatch(/did not offer STARTTLS; opportunistic TLS sends in plaintext/);
  });

  test('DomainValidation records the certificate name that matched TlsDomain', () => {
    expect(fate('outbound-tls-domain-validation', 'to-valid').hops[0].certificateName).toBe('mx-valid.tailspin.example');
  });

  test('a deferral names the setting and what was observed', () => {
    expect(fate('outbound-tls-certificate-validation', 'to-revoked').reason).toMatch(
      /TlsSettings CertificateValidation: certificate mx-revoked\.tailspin\.example \(serial [0-9A-F]+\) is revoked by the CRL/,
    );
    expect(fate('outbound-tls-domain-validation', 'to-wrongname').reason).toMatch(
      /certificate names mail\.elsewhere\.example do not match TlsDomain \*\.tailspin\.example/,
    );
  });
});

describe('on premises to Exchange Online, and a plaintext device', () => {
  test('the hybrid send connector validates the cloud certificate and the cloud matches its OnPremises connector by certificate', () => {
    const f = fate('onprem-to-cloud-forced-tls', 'to-cloud');
    expect(f.hops[0]).toMatchObject({
      outboundConnector: 'Outbound to Office 365',
      inboundConnector: 'Inbound from on-premises',
      certificateName: 'mail.protection.outlook.example',
    });
    expect(f.hops[0].inboundReason).toBe('OnPremises connector Inbound from on-premises matched by certificate mail.contoso.example');
  });
  test('IgnoreSTARTTLS sends in plaintext although STARTTLS was offered (tripwire for nodemailer’s private _ehloLines), and RequireTLS answers 451 5.7.3', () => {
    const f = fate('onprem-to-cloud-forced-tls', 'scan');
    expect(f.failedAttempts[0].tlsDecision).toMatch(/offered STARTTLS but the connector ignores it \(IgnoreSTARTTLS\)/);
    expect(f.failedAttempts[0].tls.secure).toBe(false);
    expect(f.reply).toMatch(/^451 5\.7\.3 STARTTLS is required to send mail/);
    const refused = byName('onprem-to-cloud-forced-tls').trace.find((e) => e.type === 'refused');
    expect(refused && 'reason' in refused && refused.reason).toBe('receive connector Relay for devices has RequireTLS; the session is not encrypted');
  });
});

test('after 25 lab hours a forced-TLS deferral bounces with QUEUE.Expired carrying the last error', () => {
  expect(fate('outbound-forced-tls-expiry', 'wrong-name').reply).toBe(
    '550 4.4.7 QUEUE.Expired; message expired [LastError: 450 4.7.320 Certificate validation failed]',
  );
  expect(fate('outbound-forced-tls-expiry', 'no-starttls').reply).toBe(
    '550 4.4.7 QUEUE.Expired; message expired [LastError: 450 4.4.317 Cannot connect to remote server]',
  );
  const attempts = byName('outbound-forced-tls-expiry').trace.filter((e) => e.type === 'attempt' && e.messageId.startsWith('<wrong-name.'));
  // the lab clock fires every retry on its own schedule: one attempt at submission, then one every
  // 15 minutes until the 24 h lifetime ends (the expiry itself is not an attempt)
  expect(attempts).toHaveLength(96);
  expect(fate('outbound-forced-tls-expiry', 'wrong-name').reason).toMatch(
    /^retried 96 times since .*; last: TlsSettings DomainValidation: certificate names mail\.elsewhere\.example do not match/,
  );
});

describe('Exchange hybrid semantics, as the trace recorded them', () => {
  const at = (scenario: string, message: string, node: string) => fate(scenario, message).hops.find((h) => h.to === node)?.classification;

  test('on premises to cloud over the hybrid connectors: promoted cross-premises headers, Internal, SFV:SKI', () => {
    const c = at('hybrid-onprem-to-cloud-internal', 'm1', 'eop');
    expect(c).toMatchObject({ authAs: 'Internal', directionality: 'Originating', acceptCrossPremises: true, authSource: 'mail.contoso.example', scl: -1 });
    expect(c?.antispam?.sfv).toBe('SKI');
    expect(fate('hybrid-onprem-to-cloud-internal', 'm1').addresses).toEqual(['carol@contoso.example', 'carol@contoso.mail.onmicrosoft.example']);
    const edits = byName('hybrid-onprem-to-cloud-internal').trace.filter((e) => e.type === 'header' && e.node === 'onprem' && e.op === 'prepend');
    expect(edits.map((e) => (e.type === 'header' ? e.name : ''))).toContain('X-MS-Exchange-CrossPremises-AuthAs');
  });

  test('a gateway that re-originates the message breaks internal status', () => {
    const c = at('hybrid-gateway-breaks-internal', 'm1', 'eop');
    expect(c).toMatchObject({ authAs: 'Anonymous', acceptCrossPremises: false });
    expect(c?.reason).toBe('no inbound connector matched: anonymous Internet mail');
    const stripped = byName('hybrid-gateway-breaks-internal').trace.filter((e) => e.type === 'header' && e.node === 'gateway' && e.op === 'remove');
    expect(stripped.length).toBeGreaterThan(0);
  });

  test('organization headers claimed by an Internet sender are removed by the header firewall', () => {
    const removed = byName('internet-claims-internal-header')
      .trace.filter((e) => e.type === 'header' && e.node === 'eop' && e.op === 'remove')
      .map((e) => (e.type === 'header' ? `${e.name}: ${e.reason}` : ''));
    expect(removed).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^X-MS-Exchange-Organization-AuthAs: header firewall/),
        expect.stringMatching(/^X-MS-Exchange-CrossPremises-AuthAs: cross-premises headers dropped/),
      ]),
    );
  });

  test('the other tenant’s connector is trusted like our own, until the X-OriginatorOrg rule deletes it', () => {
    expect(at('tenant-connector-attack', 'attack', 'onprem')).toMatchObject({
      authAs: 'Internal',
      acceptCrossPremises: true,
      authSource: 'woodgrove-example.mail.protection.outlook.example',
    });
    const mitigated = fate('tenant-connector-attack-mitigated', 'attack');
    expect(mitigated).toMatchObject({ state: 'deleted', rule: 'Only our tenant through EOP', node: 'onprem' });
    expect(at('tenant-connector-attack-mitigated', 'attack', 'onprem')?.rules).toEqual([{ rule: 'Only our tenant through EOP', actions: ['DeleteMessage'] }]);
    for (const id of ['own-tenant', 'internet', 'device']) expect(fate('tenant-connector-attack-mitigated', id).state).toBe('delivered');
  });

  test('the anonymous relay is the printer’s alone', () => {
    expect(fate('onprem-device-anonymous-relay', 'scan-out').state).toBe('delivered');
    const rogue = fate('onprem-device-anonymous-relay', 'rogue-out');
    expect(rogue.reply).toMatch(/^550 5\.7\.54 SMTP; Unable to relay recipient in non-accepted domain/);
    const refused = byName('onprem-device-anonymous-relay').trace.find((e) => e.type === 'refused' && e.node === 'onprem');
    expect(refused && refused.type === 'refused' && refused.reason).toMatch(/Default Frontend EX01: the sender is anonymous and the connector grants no relay/);
    expect(refused && refused.type === 'refused' && refused.remote.ip).toBe('127.0.0.61');
  });
});
