import { lintTopology, type CertificateFacts, type Topology } from '@relaylab/core';
import { EOP, ONPREM, ORGS } from './hybrid-fixtures';

/** The pure checks on certificate facts as the PKI reports them (names, dates), and on lint.accept. */

const NOW = new Date('2026-06-01T00:00:00Z');
const DAY = 86_400_000;

const topology = (patch: Partial<Topology> = {}): Topology => ({
  certificates: { onprem: { subject: 'mail.contoso.example', issuer: 'ca' } },
  organizations: { contoso: ORGS.contoso! },
  nodes: {
    eop: EOP,
    onprem: {
      ...ONPREM,
      certificate: 'onprem',
      receiveConnectors: [],
      sendConnectors: [
        {
          Name: 'Outbound to Office 365',
          AddressSpaces: ['contoso.mail.onmicrosoft.example'],
          CloudServicesMailEnabled: true,
          RequireTLS: true,
          TlsAuthLevel: 'DomainValidation',
          TlsDomain: 'mail.protection.outlook.example',
        },
        { Name: 'Internet', AddressSpaces: ['*'] },
      ],
    },
  },
  ...patch,
});

const facts = (names: string[], daysLeft: number): CertificateFacts => ({
  commonName: names[0],
  sans: names,
  notBefore: new Date(NOW.getTime() - 300 * DAY).toISOString(),
  notAfter: new Date(NOW.getTime() + daysLeft * DAY).toISOString(),
});

const run = (onprem: CertificateFacts, t = topology()) => lintTopology({ topology: t, certificates: { onprem }, now: NOW, expiryWarningDays: 30 }).findings;
const ids = (findings: { check: string; severity: string }[]) => findings.map((f) => `${f.check}:${f.severity}`);

describe('certificate expiry, from the dates the PKI read', () => {
  test('a year left: nothing', () => expect(ids(run(facts(['mail.contoso.example'], 365)))).toEqual([]));
  test('ten days left: a warning with the date', () => {
    const [f] = run(facts(['mail.contoso.example'], 10));
    expect(f).toMatchObject({ check: 'certificate-expiry', severity: 'warning', node: 'onprem' });
    expect(f!.message).toContain('expires in 10 day(s)');
  });
  test('expired yesterday: an error', () => expect(ids(run(facts(['mail.contoso.example'], -1)))).toEqual(['certificate-expiry:error']));
});

describe('the name Exchange Online expects (TlsSenderCertificateName)', () => {
  test('read from the certificate, not the spec: a renewal under another name is found', () => {
    const [f] = run(facts(['mail2.contoso.example'], 365));
    expect(f).toMatchObject({ check: 'hybrid-certificate-name', node: 'eop', parameter: 'TlsSenderCertificateName' });
    expect(f!.message).toContain('mail2.contoso.example');
  });
  test('a wildcard certificate covers the expected name', () => expect(ids(run(facts(['*.contoso.example'], 365)))).toEqual([]));
  test('a wildcard covers one label only', () => expect(ids(run(facts(['*.example'], 365)))).toContain('hybrid-certificate-name:error'));
});

describe('lint.accept', () => {
  const renamed = facts(['mail2.contoso.example'], 365);
  test('a matching entry moves the finding to accepted, with its reason', () => {
    const t = topology({ lint: { accept: [{ check: 'hybrid-certificate-name', node: 'eop', because: 'teaching the renewal' }] } });
    const r = lintTopology({ topology: t, certificates: { onprem: renamed }, now: NOW });
    expect(ids(r.findings)).toEqual(['tls-domain-unmatchable:error']);
    expect(r.accepted.map((a) => [a.finding.check, a.because])).toEqual([['hybrid-certificate-name', 'teaching the renewal']]);
  });
  test('an entry narrowed to another node accepts nothing and is reported unused', () => {
    const t = topology({ lint: { accept: [{ check: 'hybrid-certificate-name', node: 'onprem', because: 'wrong node' }] } });
    const r = lintTopology({ topology: t, certificates: { onprem: renamed }, now: NOW });
    expect(ids(r.findings)).toEqual(['hybrid-certificate-name:error', 'tls-domain-unmatchable:error']);
    expect(r.unusedAcceptances).toHaveLength(1);
  });
});

describe('a device between on premises and Exchange Online', () => {
  const via = (role: 'passthrough' | 'appliance') =>
    topology({
      nodes: {
        ...topology().nodes,
        onprem: {
          ...topology().nodes.onprem!,
          sendConnectors: [
            {
              Name: 'Outbound to Office 365',
              AddressSpaces: ['contoso.mail.onmicrosoft.example'],
              DNSRoutingEnabled: false,
              SmartHosts: ['fw.contoso.example'],
              CloudServicesMailEnabled: true,
            },
          ],
        },
        fw: { role, hostname: 'fw.contoso.example', address: '127.0.0.41', ...(role === 'passthrough' && { forwardTo: 'eop' }) },
      },
    });
  const found = (role: 'passthrough' | 'appliance') =>
    lintTopology({ topology: via(role), now: NOW }).findings.filter((f) => f.check === 'device-between-onprem-and-eop');

  test('a firewall that passes port 25 on (passthrough) is not one', () => expect(found('passthrough')).toEqual([]));
  test('an SMTP appliance is, named with the connector that reaches it', () =>
    expect(found('appliance')).toEqual([expect.objectContaining({ node: 'onprem', connector: 'Outbound to Office 365', parameter: 'SmartHosts' })]));
});

test('TlsSenderCertificateName as Exchange prints it, <I>issuer<S>subject, stands for the subject CN', () => {
  const t = topology();
  const eop = t.nodes.eop!;
  const printed = {
    ...eop,
    inboundConnectors: [{ ...eop.inboundConnectors![0]!, TlsSenderCertificateName: '<I>CN=Relaylab Public Root CA, O=relaylab<S>CN=mail.contoso.example' }],
  };
  const findings = (names: string[]) =>
    lintTopology({ topology: { ...t, nodes: { ...t.nodes, eop: printed } }, certificates: { onprem: facts(names, 365) }, now: NOW }).findings;
  expect(ids(findings(['mail.contoso.example']))).toEqual([]);
  expect(ids(findings(['mail2.contoso.example']))).toContain('hybrid-certificate-name:error');
});

describe('DomainValidation without TlsDomain on a send connector', () => {
  const withoutTlsDomain = (): Topology => {
    const t = topology();
    const onprem = t.nodes.onprem!;
    return {
      ...t,
      certificates: { ...t.certificates, eop: { subject: 'mail.protection.outlook.example', issuer: 'ca' } },
      dns: { mx: { 'contoso.mail.onmicrosoft.example': ['contoso-com.mail.protection.outlook.example'] } },
      nodes: {
        ...t.nodes,
        eop: { ...t.nodes.eop!, certificate: 'eop' },
        onprem: { ...onprem, sendConnectors: onprem.sendConnectors!.map((c) => (c.TlsDomain ? { ...c, TlsDomain: undefined } : c)) },
      },
    };
  };
  const eop = facts(['mail.protection.outlook.example', '*.mail.protection.outlook.example'], 365);
  test("the receiver's certificate is compared with the recipient's domain, which Exchange Online's does not carry", () => {
    const all = lintTopology({ topology: withoutTlsDomain(), certificates: { onprem: facts(['mail.contoso.example'], 365), eop }, now: NOW }).findings;
    const findings = all.filter((f) => f.check.startsWith('tls-domain'));
    expect(ids(findings)).toEqual(['tls-domain-missing:error']);
    expect(findings[0]).toMatchObject({ node: 'onprem', connector: 'Outbound to Office 365', parameter: 'TlsDomain' });
    expect(findings[0]!.message).toContain('contoso.mail.onmicrosoft.example');
  });
  test('with TlsDomain set, or with a certificate for the recipient domain, nothing', () => {
    expect(ids(run(facts(['mail.contoso.example'], 365)))).toEqual([]);
    const covering = facts(['mail.protection.outlook.example', 'contoso.mail.onmicrosoft.example'], 365);
    const all = lintTopology({
      topology: withoutTlsDomain(),
      certificates: { onprem: facts(['mail.contoso.example'], 365), eop: covering },
      now: NOW,
    }).findings;
    expect(all.filter((f) => f.check.startsWith('tls-domain'))).toEqual([]);
  });
});
