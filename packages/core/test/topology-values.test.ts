import { normalizeTopologyValues } from '@relaylab/core';

/** docs/exchange.md, "What administrators export": what the loader does before the schema judges. */

const node = (connector: Record<string, unknown>) => ({ nodes: { eop: { role: 'exchange-online', inboundConnectors: [connector] } } });
const connectorOf = (value: unknown) => (value as { nodes: { eop: { inboundConnectors: unknown[] } } }).nodes.eop.inboundConnectors[0];

describe('normalizeTopologyValues', () => {
  test('a topology: $null and null mean unset and are left out; the input is not changed', () => {
    const input = node({ Name: 'A', ConnectorType: 'Partner', TlsSenderCertificateName: '$null', SenderIPAddresses: null, RequireTls: '$true' });
    const copy = JSON.parse(JSON.stringify(input)) as unknown;
    const { value, problems } = normalizeTopologyValues(input);
    expect(connectorOf(value)).toEqual({ Name: 'A', ConnectorType: 'Partner', RequireTls: true });
    expect(problems).toEqual([]);
    expect(input).toEqual(copy);
  });

  test('a merge patch: $null stays null, which removes the property there', () => {
    const { value } = normalizeTopologyValues(node({ Name: 'A', RequireTls: '$null', EFTestMode: '$true' }), { patch: true });
    expect(connectorOf(value)).toEqual({ Name: 'A', RequireTls: null });
  });

  test('list items ConvertTo-Json wrote as objects read as Exchange prints them', () => {
    const { value } = normalizeTopologyValues(
      node({
        Name: 'A',
        SenderIPAddresses: [{ Expression: '198.51.100.25', RangeFormat: 'SingleAddress' }],
        SenderDomains: [{ Address: 'litware.example', Type: 'smtp', Cost: 1 }],
      }),
    );
    expect(connectorOf(value)).toEqual({ Name: 'A', SenderIPAddresses: ['198.51.100.25'], SenderDomains: ['litware.example'] });
  });

  test('where problems are, with the path to them; an unknown name is left for the schema', () => {
    const { value, problems, notSimulated } = normalizeTopologyValues(node({ Name: 'A', SenderDomains: 'System.Object[]', Frobnicate: 1, EFUsers: ['x@y'] }), {
      at: ['topology'],
    });
    expect(connectorOf(value)).toEqual({ Name: 'A', Frobnicate: 1 });
    expect(problems.map((p) => p.path)).toEqual([['topology', 'nodes', 'eop', 'inboundConnectors', 0, 'SenderDomains']]);
    expect(notSimulated).toEqual([
      { path: ['topology', 'nodes', 'eop', 'inboundConnectors', 0, 'EFUsers'], property: 'EFUsers', cmdlet: 'Get-InboundConnector' },
    ]);
  });

  test('what is not a topology is returned as it is, for the loader to say so', () => {
    expect(normalizeTopologyValues(['a']).value).toEqual(['a']);
    expect(normalizeTopologyValues({ nodes: 'x' }).value).toEqual({ nodes: 'x' });
  });
});
