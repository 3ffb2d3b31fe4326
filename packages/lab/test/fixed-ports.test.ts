import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Lab, loadTopologyFile } from '@relaylab/lab';

test('with the topology’s ports, tenants sharing EOP’s address listen on the next ports and mail still flows', async () => {
  const topology = loadTopologyFile(resolve(__dirname, '../../../scenarios/topologies/hybrid.yaml'));
  // a port block of its own, so a developer's `relaylab up` on 2525 does not collide with the test
  const port = 20000 + Math.floor(Math.random() * 10000);
  const fixed = { ...topology, nodes: Object.fromEntries(Object.entries(topology.nodes).map(([n, s]) => [n, { ...s, port }])) };
  const lab = await Lab.start(fixed, { certsDir: mkdtempSync(join(tmpdir(), 'relaylab-ports-')), ports: 'topology' });
  try {
    expect(lab.node('eop').port).toBe(port);
    expect(lab.node('eop-woodgrove').port).toBe(port + 1);
    expect(lab.node('onprem').port).toBe(port);
    lab.submit('tailspin', {
      from: 'tom@tailspin.example',
      to: ['carol@contoso.example'],
      raw: Buffer.from('From: tom@tailspin.example\r\nTo: carol@contoso.example\r\nMessage-ID: <p1@tailspin.example>\r\nSubject: ports\r\n\r\nhi\r\n'),
    });
    expect(await lab.settle()).toBe(true);
    expect(lab.node('eop').mailboxes.get('carol@contoso.example')).toHaveLength(1);
  } finally {
    await lab.stop();
  }
});
