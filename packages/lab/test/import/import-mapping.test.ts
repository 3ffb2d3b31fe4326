import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeNotSimulated, lintTopology } from '@relaylab/core';
import { importExports } from '../../src/import';
import { loadTopologyFile } from '../../src/loader';

/** `relaylab import`: docs/exchange.md, "What administrators export". */

const repo = path.resolve(__dirname, '../../../..');
const EXPORT_DATE = new Date('2026-11-30T00:00:00Z');

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaylab-import-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function folder(name: string, files: Record<string, string>): string {
  const root = path.join(dir, name);
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  return root;
}

const reasons = (output: ReturnType<typeof importExports>) => output.unmapped.map((u) => `${u.identity ?? ''}: ${u.reason}`);

describe('the bundled sample exports', () => {
  test('re-import to exactly the committed topology, so that the two cannot drift apart', () => {
    const committed = path.join(repo, 'scenarios/topologies/imported-fabrikam.yaml');
    const output = importExports([path.join(repo, 'examples/fabrikam-hybrid')], { now: EXPORT_DATE, base: repo, output: committed });
    expect(output.yaml).toBe(fs.readFileSync(committed, 'utf8'));
  });

  test('the imported topology loads, with the implied hosts on loopback addresses of their own', () => {
    const topology = loadTopologyFile(path.join(repo, 'scenarios/topologies/imported-fabrikam.yaml'));
    expect(Object.fromEntries(Object.entries(topology.nodes).map(([name, node]) => [name, `${node.role} ${node.hostname} ${node.address}`]))).toEqual({
      onprem: 'exchange-server mail.fabrikam.example 127.0.0.10',
      eop: 'exchange-online fabrikam-example.mail.protection.outlook.com 127.0.0.20',
      litware: 'partner mail.litware.example 127.0.0.30',
      filter: 'appliance mx.northwind-cloud-filter.example 127.0.0.45',
      'mfd-floor-2': 'device mfd-floor-2.fabrikam.example 127.0.0.60',
      internet: 'internet mx.tailspin.example 127.0.0.50',
    });
    const inbound = topology.nodes.eop!.inboundConnectors!;
    expect(inbound.find((c) => c.Name === 'Inbound from Litware')?.SenderDomains).toEqual(['litware.example']);
    expect(inbound.find((c) => c.Name === 'Inbound from Northwind Cloud Filter')?.SenderIPAddresses).toEqual(['127.0.0.45']);
    const relay = topology.nodes.onprem!.receiveConnectors!.find((c) => c.Name === 'Relay MFD Floor 2')!;
    expect(relay.RemoteIPRanges).toEqual(['127.0.0.60']);
    expect(relay.ExtendedRights).toContain('ms-Exch-SMTP-Accept-Any-Recipient');
    // From Export-Clixml, in UTF-16 as Windows PowerShell 5.1 writes it.
    expect(topology.nodes.onprem!.transportRules).toEqual([
      {
        Name: 'Only our tenant through Exchange Online',
        Priority: 0,
        State: 'Enabled',
        SenderAddressLocation: 'Header',
        SenderIPRanges: ['127.0.0.20'],
        ExceptIfHeaderMatchesMessageHeader: 'X-OriginatorOrg',
        ExceptIfHeaderMatchesPatterns: ['^fabrikam\\.example$'],
        DeleteMessage: true,
        StopRuleProcessing: false,
      },
    ]);
    expect(topology.certificates!.onprem).toEqual({
      subject: 'mail.fabrikam.example',
      sans: ['mail.fabrikam.example', 'autodiscover.fabrikam.example'],
      issuer: 'digicert-global-g2-tls-rsa-sha256-2020-ca1',
    });
  });

  test("relaylab lint finds no error in it (its warnings are the sample organization's own)", () => {
    const topology = loadTopologyFile(path.join(repo, 'scenarios/topologies/imported-fabrikam.yaml'));
    const findings = lintTopology({ topology, now: EXPORT_DATE }).findings;
    expect(findings.filter((f) => f.severity === 'error').map((f) => `${f.check}: ${f.message}`)).toEqual([]);
  });

  test('each connector says where it came from', () => {
    const text = fs.readFileSync(path.join(repo, 'scenarios/topologies/imported-fabrikam.yaml'), 'utf8');
    expect(text).toContain(
      '# from examples/fabrikam-hybrid/exchange-online/Get-InboundConnector.json, "Inbound from Litware" (json (PowerShell 7))\n      - Name: Inbound from Litware',
    );
    expect(text).toContain(
      '# from examples/fabrikam-hybrid/on-premises/Get-SendConnector.json, "Internet" (json (Windows PowerShell 5.1))\n      - Name: Internet',
    );
  });
});

describe('what cannot be mapped is said, with the reason', () => {
  test('an enum Windows PowerShell 5.1 wrote as a number is left at its default', () => {
    const root = folder('enum', {
      'on-premises/Get-SendConnector.json': JSON.stringify({
        Name: 'Internet',
        Identity: 'Internet',
        AddressSpaces: ['SMTP:*;1'],
        SmartHostAuthMechanism: 0,
        TlsAuthLevel: 2,
      }),
    });
    const output = importExports([root], { now: EXPORT_DATE });
    expect(output.topology.nodes.onprem!.sendConnectors).toEqual([{ Name: 'Internet', AddressSpaces: ['*'] }]);
    expect(reasons(output).filter((r) => r.startsWith('Internet:'))).toEqual([
      expect.stringMatching(/^Internet: SmartHostAuthMechanism is the number 0 .*left at its default/),
      expect.stringMatching(/^Internet: TlsAuthLevel is the number 2 /),
    ]);
  });

  test('a flags enum written as a number (PermissionGroups, AuthMechanism) is reported, not written for the loader to refuse', () => {
    const root = folder('flags', {
      'on-premises/Get-ReceiveConnector.json': JSON.stringify({
        Name: 'Default Frontend EX01',
        Identity: 'EX01\\Default Frontend EX01',
        Bindings: ['0.0.0.0:25'],
        RemoteIPRanges: ['0.0.0.0-255.255.255.255'],
        PermissionGroups: 37,
        AuthMechanism: 134,
      }),
    });
    const output = importExports([root], { now: EXPORT_DATE });
    const connector = output.topology.nodes.onprem!.receiveConnectors![0]!;
    expect(connector).not.toHaveProperty('PermissionGroups');
    expect(connector).not.toHaveProperty('AuthMechanism');
    expect(reasons(output)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^EX01\\Default Frontend EX01: PermissionGroups is the number 37 .*left at its default/),
        expect.stringMatching(/^EX01\\Default Frontend EX01: AuthMechanism is the number 134 /),
      ]),
    );
  });

  test('a rule with conditions the lab does not evaluate is imported disabled', () => {
    const root = folder('rules', {
      'exchange-online/Get-TransportRule.json': JSON.stringify([
        {
          Name: 'Disclaimer',
          Priority: 0,
          State: 'Enabled',
          Mode: 'Enforce',
          SentToScope: 'NotInOrganization',
          ApplyHtmlDisclaimerText: 'x',
          Conditions: ['SentToScopePredicate'],
        },
        { Name: 'Tag', Priority: 1, State: 'Enabled', Mode: 'Audit', SetHeaderName: 'X-Tag', SetHeaderValue: '1', Conditions: [] },
        { Name: 'SCL', Priority: 2, State: 'Enabled', Mode: 'Enforce', SenderIPRanges: ['198.51.100.25'], SetSCL: -1, Conditions: ['SenderIpRangesPredicate'] },
      ]),
    });
    const output = importExports([root], { now: EXPORT_DATE });
    expect(output.topology.nodes.eop!.transportRules!.map((r) => `${r.Name} ${r.State}`)).toEqual(['Disclaimer Disabled', 'Tag Disabled', 'SCL Enabled']);
    expect(reasons(output)).toEqual(
      expect.arrayContaining([
        'Disclaimer: the rule uses SentToScope, ApplyHtmlDisclaimerText, which the lab does not evaluate: imported with State Disabled',
        'Tag: the rule is in Audit mode, which does not act: imported with State Disabled',
      ]),
    );
  });

  test('relay rights come from Get-ADPermission rows for ANONYMOUS LOGON only', () => {
    const root = folder('rights', {
      'on-premises/Get-ReceiveConnector.json': JSON.stringify({
        Name: 'Relay app',
        Identity: 'EX01\\Relay app',
        Bindings: ['0.0.0.0:25'],
        RemoteIPRanges: [{ Expression: '10.1.1.9', RangeFormat: 'SingleAddress' }],
        PermissionGroups: 'AnonymousUsers',
      }),
      'on-premises/Get-ADPermission.csv': [
        '"Identity","User","ExtendedRights","Deny","AccessRights"',
        '"EX01\\Relay app","NT AUTHORITY\\ANONYMOUS LOGON","ms-Exch-SMTP-Accept-Any-Recipient","False","ExtendedRight"',
        '"EX01\\Relay app","FABRIKAM\\svc-app","ms-Exch-SMTP-Accept-Any-Sender","False","ExtendedRight"',
        '"EX01\\Gone","NT AUTHORITY\\ANONYMOUS LOGON","ms-Exch-SMTP-Accept-Any-Recipient","False","ExtendedRight"',
      ].join('\r\n'),
    });
    const output = importExports([root], { now: EXPORT_DATE });
    const relay = output.topology.nodes.onprem!.receiveConnectors![0]!;
    expect(relay.ExtendedRights).toEqual(['ms-Exch-SMTP-Accept-Any-Recipient']);
    expect(relay.RemoteIPRanges).toEqual(['127.0.0.60']);
    expect(output.topology.nodes['app']?.role).toBe('device');
    expect(reasons(output)).toEqual(
      expect.arrayContaining([
        'EX01\\Relay app: a permission for FABRIKAM\\svc-app: the lab models only those of NT AUTHORITY\\ANONYMOUS LOGON',
        'EX01\\Gone: no exported receive connector is named "Gone"',
      ]),
    );
  });

  test('a list Export-Csv lost to a type name, a property no cmdlet has, a side no one named', () => {
    const root = folder('csv', {
      'Get-InboundConnector.csv': [
        '"Name","ConnectorType","SenderDomains","TlsSenderCertificateName","EFSkipIPs","Frobnicate"',
        '"From partner","Partner","System.Object[]","mail.litware.example",,"yes"',
      ].join('\n'),
      'Get-TransportRule.csv': ['"Name","Priority","State","Mode","SetSCL","Conditions"', '"SCL","0","Enabled","Enforce","-1",'].join('\n'),
    });
    const output = importExports([root], { now: EXPORT_DATE });
    expect(output.topology.nodes.eop!.inboundConnectors).toEqual([
      { Name: 'From partner', ConnectorType: 'Partner', TlsSenderCertificateName: 'mail.litware.example' },
    ]);
    expect(reasons(output)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^From partner: SenderDomains: the export lost this list: it holds the type name "System.Object\[\]"/),
        'From partner: Frobnicate is not a documented property of Get-InboundConnector: left out',
        'SCL: Get-TransportRule runs on both sides and nothing said which: taken as on-premises (put exchange-online or on-premises in the folder name)',
      ]),
    );
    expect(output.topology.nodes.onprem!.transportRules).toEqual([{ Name: 'SCL', Priority: 0, State: 'Enabled', SetSCL: -1 }]);
  });

  test('a partner named by <I>issuer<S>subject gets the subject as its host name', () => {
    const root = folder('partner-cert-form', {
      'exchange-online/Get-InboundConnector.json': JSON.stringify({
        Name: 'Inbound from Litware',
        ConnectorType: 'Partner',
        SenderDomains: ['smtp:litware.example;1'],
        TlsSenderCertificateName: '<I>CN=Some CA, O=CA Inc<S>CN=smtp.litware.example, O=Litware',
        EFSkipIPs: [],
      }),
    });
    expect(importExports([root], { now: EXPORT_DATE }).topology.nodes.litware?.hostname).toBe('smtp.litware.example');
  });

  test('two servers with a connector of the same name: the first is imported, the second reported', () => {
    const connector = (server: string) => ({
      Name: 'Relay',
      Identity: `${server}\\Relay`,
      Bindings: ['0.0.0.0:25'],
      RemoteIPRanges: ['0.0.0.0-255.255.255.255'],
    });
    const root = folder('two-servers', { 'on-premises/Get-ReceiveConnector.json': JSON.stringify([connector('EX01'), connector('EX02')]) });
    const output = importExports([root], { now: EXPORT_DATE });
    expect(output.topology.nodes.onprem!.receiveConnectors).toHaveLength(1);
    expect(reasons(output)).toContainEqual(
      expect.stringMatching(/^EX02\\Relay: another Get-ReceiveConnector object is named "Relay" \(from .*"EX01\\\\Relay"\)/),
    );
  });

  test('Get-TransportConfig: the domain-secure list acts, the rest is listed as not simulated', () => {
    const root = folder('transport-config', {
      'on-premises/Get-TransportConfig.json': JSON.stringify({
        Identity: 'Transport Settings',
        TLSReceiveDomainSecureList: ['litware.example'],
        TLSSendDomainSecureList: ['litware.example'],
        MaxSendSize: '35 MB (36,700,160 bytes)',
        ShadowRedundancyEnabled: true,
        MaxRecipientEnvelopeLimit: 'Unlimited',
      }),
    });
    const output = importExports([root], { now: EXPORT_DATE });
    expect(output.topology.nodes.onprem!.transportConfig).toEqual({ TLSReceiveDomainSecureList: ['litware.example'] });
    expect(describeNotSimulated(output.notSimulated)).toBe(
      'not simulated (accepted, no effect in the lab): TLSSendDomainSecureList, MaxSendSize, ShadowRedundancyEnabled, MaxRecipientEnvelopeLimit',
    );
  });

  test("rule properties in any case, and a rule scoped to Exchange Online's published addresses scoped to the lab's", () => {
    const root = folder('eop-ranges', {
      'on-premises/Get-TransportRule.json': JSON.stringify({
        Name: 'Only our tenant',
        Priority: 0,
        State: 'Enabled',
        Mode: 'Enforce',
        SenderIpRanges: ['40.92.0.0/15', '104.47.0.0/17', '192.0.2.0/24'],
        ExceptIfHeaderMatchesMessageHeader: 'X-OriginatorOrg',
        exceptIfHeaderMatchesPatterns: ['^fabrikam\\.example$'],
        DeleteMessage: true,
      }),
    });
    const rule = importExports([root], { now: EXPORT_DATE }).topology.nodes.onprem!.transportRules![0]!;
    expect(rule.SenderIPRanges).toEqual(['127.0.0.20', '192.0.2.0/24']);
    expect(rule.ExceptIfHeaderMatchesPatterns).toEqual(['^fabrikam\\.example$']);
  });
});
