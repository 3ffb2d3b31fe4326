import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeNotSimulated } from '@relaylab/core';
import { loadScenarioFile, loadTopologyFile, ScenarioFileError } from '../src/loader';
import { notSimulatedIn } from '../src/exchange-values';

/** docs/exchange.md, "What administrators export": a topology takes the cmdlets' output as printed. */

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaylab-pasted-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

const PASTED = `
nodes:
  eop:
    role: exchange-online
    hostname: contoso-example.mail.protection.outlook.example
    address: 127.0.0.20
    inboundConnectors:
      - Identity: Inbound from Fabrikam
        Name: Inbound from Fabrikam
        Comment: Forced TLS with the partner
        ConnectorType: Partner
        ConnectorSource: Default
        AssociatedAcceptedDomains: []
        EFTestMode: $false
        Enabled: True
        RequireTls: $true
        SenderDomains: ["smtp:fabrikam.example;1"]
        SenderIPAddresses: $null
        TlsSenderCertificateName: mail.fabrikam.example
        Guid: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
        WhenChanged: /Date(1700000000000)/
  onprem:
    role: exchange-server
    hostname: mail.contoso.example
    address: 127.0.0.10
    starttls: $true
    receiveConnectors:
      - Name: Default Frontend EX01
        Identity: EX01\\Default Frontend EX01
        MaxMessageSize: 36 MB (37,748,736 bytes)
        MaxInboundConnectionPerSource: Unlimited
        ConnectionTimeout: { Ticks: 6000000000, TotalSeconds: 600 }
        ConnectionInactivityTimeout: 00:05:00
        TlsCertificateName: <I>CN=Relaylab Public CA<S>CN=mail.contoso.example
        RemoteIPRanges: "0.0.0.0-255.255.255.255 ::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        PermissionGroups: AnonymousUsers, ExchangeServers
        Banner: $null
        ProtocolLoggingLevel: Verbose
    sendConnectors:
      - Name: Outbound to Office 365
        AddressSpaces: [SMTP:contoso.mail.onmicrosoft.example;1]
        RequireTLS: "True"
        SmartHostsString: "[]"
`;

describe('a topology with cmdlet output pasted in', () => {
  test('loads: literals, address spaces, sizes, time spans and lists are read as Exchange means them', () => {
    const topology = loadTopologyFile(write('pasted.yaml', PASTED));
    expect(topology.nodes.eop!.inboundConnectors![0]).toEqual({
      Name: 'Inbound from Fabrikam',
      ConnectorType: 'Partner',
      Enabled: true,
      RequireTls: true,
      SenderDomains: ['fabrikam.example'],
      TlsSenderCertificateName: 'mail.fabrikam.example',
    });
    const receive = topology.nodes.onprem!.receiveConnectors![0]!;
    expect(receive.MaxMessageSize).toBe(37_748_736);
    expect(receive.MaxInboundConnectionPerSource).toBe('unlimited');
    expect(receive.ConnectionTimeout).toBe('00:10:00');
    expect(receive.RemoteIPRanges).toEqual(['0.0.0.0-255.255.255.255', '::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']);
    expect(receive.PermissionGroups).toEqual(['AnonymousUsers', 'ExchangeServers']);
    expect(topology.nodes.onprem!.starttls).toBe(true);
    expect(topology.nodes.onprem!.sendConnectors![0]!.RequireTLS).toBe(true);
    expect(topology.nodes.onprem!.sendConnectors![0]!.AddressSpaces).toEqual(['contoso.mail.onmicrosoft.example']);
  });

  test('what the lab does not simulate is listed once, only where it has a value; read-only properties go without a word', () => {
    const topology = loadTopologyFile(write('pasted-listed.yaml', PASTED));
    expect(describeNotSimulated(notSimulatedIn(topology))).toBe(
      'not simulated (accepted, no effect in the lab): ConnectorSource, EFTestMode, ProtocolLoggingLevel, SmartHostsString',
    );
  });

  test('a scenario with the topology inline and a patch in the same shapes', () => {
    const inline = PASTED.replace(/^/gm, '  ').replace(/^ {2}nodes:/m, 'topology:\n  nodes:');
    const file = write(
      'inline.yaml',
      `${inline}
patch:
  nodes:
    eop:
      inboundConnectors:
        - Name: Inbound from Fabrikam
          ConnectorType: Partner
          RequireTls: $false
          EFTestMode: $true
messages:
  - { id: m1, from: bob@fabrikam.example, to: alice@contoso.example, via: eop }
expect:
  - { message: m1, state: delivered }
`,
    );
    const scenario = loadScenarioFile(file);
    expect(scenario.topology.nodes.eop!.inboundConnectors![0]!.RequireTls).toBe(false);
    expect(notSimulatedIn(scenario.topology).map((n) => n.property)).toContain('EFTestMode');
  });

  test('a name no cmdlet prints is still refused, with the nearest cmdlet property suggested', () => {
    const file = write('typo.yaml', PASTED.replace('EFTestMode: $false', 'EFTestMod: $false').replace('RequireTls: $true', 'RequireTLs: $true'));
    let messages: string[] = [];
    try {
      loadTopologyFile(file);
    } catch (error) {
      if (!(error instanceof ScenarioFileError)) throw error;
      messages = error.issues.map((i) => `${i.line}: ${i.field}: ${i.message}`);
    }
    expect(messages).toEqual([
      '14: nodes.eop.inboundConnectors[0].EFTestMod: unknown field "EFTestMod" (did you mean "EFTestMode"?)',
      '16: nodes.eop.inboundConnectors[0].RequireTLs: unknown field "RequireTLs" (did you mean "RequireTls"?)',
    ]);
  });

  test('a list Export-Csv lost to a type name, and a malformed certificate name, are errors where they are', () => {
    const file = write(
      'lost.yaml',
      PASTED.replace('SenderDomains: ["smtp:fabrikam.example;1"]', 'SenderDomains: System.Object[]').replace(
        '<I>CN=Relaylab Public CA<S>CN=mail',
        '<I>CN=CA<S>O=mail',
      ),
    );
    let messages: string[] = [];
    try {
      loadTopologyFile(file);
    } catch (error) {
      if (!(error instanceof ScenarioFileError)) throw error;
      messages = error.issues.map((i) => `${i.field}: ${i.message}`);
    }
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatch(/^nodes\.eop\.inboundConnectors\[0\]\.SenderDomains: the export lost this list: .*System\.Object\[\]/);
    expect(messages[1]).toMatch(/^nodes\.onprem\.receiveConnectors\[0\]\.TlsCertificateName: expected a certificate name/);
  });
});
