import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { SMTPServer } from 'smtp-server';
import { Pki } from '@relaylab/pki';
import { installFaultGate, NodeFaults } from '../src/faults';

/**
 * The fault gate finds a session's socket by id (to cut it in the middle of DATA) while the
 * session is open, and holds nothing of it once it closed: a lab kept up for days sees a
 * STARTTLS session per few hundred messages, and each one kept was its TLS socket and buffers.
 */
test('a closed STARTTLS session is no longer known to the fault gate', async () => {
  const pki = new Pki({ dir: mkdtempSync(join(tmpdir(), 'relaylab-fault-gate-')) });
  const root = await pki.authority('root', { commonName: 'Gate Root' });
  const leaf = await pki.leaf('gate', { subject: 'mx.gate.example', issuer: 'root' }, root);
  const closed: string[] = [];
  const server = new SMTPServer({
    key: leaf.keyPem,
    cert: leaf.chainPem,
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    onClose: (session) => closed.push(session.id),
  });
  const socketOf = installFaultGate(server, new NodeFaults(), () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.server.address() as { port: number }).port;
  try {
    const client = new SMTPConnection({
      host: '127.0.0.1',
      port,
      tls: { ca: [root.certPem], servername: 'mx.gate.example' },
      requireTLS: true,
      name: 'client.example',
    });
    await new Promise<void>((resolve, reject) => {
      client.once('error', reject);
      client.connect(() => resolve());
    });
    expect(client.secure).toBe(true);
    const open = [...(server as unknown as { connections: Set<{ id: string }> }).connections].map((c) => c.id);
    expect(open).toHaveLength(1);
    expect(socketOf(open[0]!)).toBeDefined();
    client.quit();
    for (let i = 0; i < 100 && closed.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(closed).toEqual(open);
    expect(socketOf(open[0]!)).toBeUndefined();
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});
