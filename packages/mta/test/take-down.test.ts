import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Topology } from '@relaylab/core';
import { Lab } from '@relaylab/lab';
import { openConnection, socketOf } from '@relaylab/mta';
import { Wire } from './wire';

/**
 * Taking a host down cuts the sessions it has open, plaintext and STARTTLS alike: a sender's
 * pooled connection must not outlive the host, or mail would reach a server that is off.
 */
const topology: Topology = {
  authorities: { root: { commonName: 'Down Root' } },
  certificates: { far: { subject: 'mx.far.example', issuer: 'root' } },
  organizations: { f: { domains: ['far.example'] } },
  nodes: {
    far: { role: 'partner', hostname: 'mx.far.example', address: '127.0.0.215', organization: 'f', certificate: 'far', mailboxes: ['bob@far.example'] },
  },
};

let lab: Lab;
beforeAll(async () => {
  lab = await Lab.start(topology, { certsDir: mkdtempSync(join(tmpdir(), 'relaylab-down-')) });
});
afterAll(() => lab.stop());

test('takeDown cuts open sessions and refuses new ones; bringUp listens again on the same port', async () => {
  const node = lab.node('far');
  const plain = await Wire.open('127.0.0.215', node.port, '127.0.0.216');
  await plain.waitFor(/^220 /m);
  const tls = await openConnection({
    host: '127.0.0.215',
    port: node.port,
    servername: 'mx.far.example',
    localAddress: '127.0.0.216',
    ehloName: 'client.example',
  });
  const tlsSocket = socketOf(tls.connection)!;
  expect(tls.facts.secure).toBe(true);
  const tlsClosed = new Promise<void>((resolve) => tlsSocket.once('close', () => resolve()));

  await node.takeDown();
  await plain.waitClosed(2000);
  await tlsClosed;
  await expect(Wire.open('127.0.0.215', node.port, '127.0.0.216')).rejects.toThrow(/ECONNREFUSED/);

  await node.bringUp();
  const again = await Wire.open('127.0.0.215', node.port, '127.0.0.216');
  await again.waitFor(/^220 /m);
  again.close();
});
