import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadScenarioFile, mergePatch, ScenarioFileError } from '@relaylab/lab';

/** Patches that change connector lists and rules by Name: `merge` and `remove`; a list still replaces. */

const topology = {
  nodes: {
    eop: {
      inboundConnectors: [
        { Name: 'Inbound from on-premises', ConnectorType: 'OnPremises', TlsSenderCertificateName: 'mail.contoso.example' },
        { Name: 'Old partner', ConnectorType: 'Partner', SenderDomains: ['old.example'] },
      ],
    },
  },
};
const connectorsOf = (patched: unknown) => (patched as typeof topology).nodes.eop.inboundConnectors;

test('merge appends a new Name and keeps every connector the patch does not name', () => {
  const added = { Name: 'Inbound from Fabrikam', ConnectorType: 'Partner', SenderDomains: ['fabrikam.example'] };
  expect(connectorsOf(mergePatch(topology, { nodes: { eop: { inboundConnectors: { merge: [added] } } } }))).toEqual([
    ...topology.nodes.eop.inboundConnectors,
    added,
  ]);
});

test('merge patches an existing Name in place (names compare as Exchange compares them); null removes a field', () => {
  const patched = connectorsOf(
    mergePatch(topology, { nodes: { eop: { inboundConnectors: { merge: [{ Name: 'old PARTNER', SenderDomains: ['new.example'], ConnectorType: null }] } } } }),
  );
  expect(patched).toEqual([topology.nodes.eop.inboundConnectors[0], { Name: 'old PARTNER', SenderDomains: ['new.example'] }]);
});

test('remove takes connectors out by Name; a list still replaces the whole list (RFC 7396)', () => {
  expect(connectorsOf(mergePatch(topology, { nodes: { eop: { inboundConnectors: { remove: ['Old partner'] } } } }))).toEqual([
    topology.nodes.eop.inboundConnectors[0],
  ]);
  const only = [{ Name: 'Only', ConnectorType: 'Partner' }];
  expect(connectorsOf(mergePatch(topology, { nodes: { eop: { inboundConnectors: only } } }))).toEqual(only);
  // the topology given is not changed
  expect(topology.nodes.eop.inboundConnectors).toHaveLength(2);
});

test('the bundled scenario loads with the hybrid connector and the added one', () => {
  const scenario = loadScenarioFile(resolve(__dirname, '../../../scenarios/patch-adds-one-connector.yaml'));
  expect(scenario.topology.nodes.eop!.inboundConnectors!.map((c) => c.Name)).toEqual(['Inbound from on-premises', 'Inbound from Fabrikam']);
});

test('a removal of a name the topology lacks, and a merge entry without a Name, are file errors where the patch says them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-named-patch-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(
    file,
    [
      `topology: ${resolve(__dirname, '../../../scenarios/topologies/hybrid.yaml')}`,
      'patch:',
      '  nodes:',
      '    eop:',
      '      inboundConnectors:',
      '        merge:',
      '          - { ConnectorType: Partner, SenderDomains: [fabrikam.example] }',
      '        remove: [Inbound from on-premise]',
      'messages:',
      '  - { id: m, from: ann@fabrikam.example, to: [carol@contoso.example], via: fabrikam }',
      'expect:',
      '  - { message: m, state: delivered }',
      '',
    ].join('\n'),
  );
  let thrown: unknown;
  try {
    loadScenarioFile(file);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ScenarioFileError);
  const issues = (thrown as ScenarioFileError).issues.map((i) => [i.line, i.field, i.message]);
  expect(issues).toEqual([
    [7, 'patch.nodes.eop.inboundConnectors.merge[0]', expect.stringMatching(/^a merge entry needs its Name/)],
    [
      8,
      'patch.nodes.eop.inboundConnectors.remove[0]',
      '"Inbound from on-premise" is not a name in eop.inboundConnectors of the topology; its names are Inbound from on-premises',
    ],
  ]);
});
