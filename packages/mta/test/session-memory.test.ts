import { mkdtempSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { Topology } from '@relaylab/core';
import { Lab } from '@relaylab/lab';

/**
 * A lab kept up for days sees a STARTTLS session every few hundred messages: once one closed,
 * nothing of it may stay reachable (its sockets, buffers and TLS state were kept before).
 */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const topology: Topology = {
  authorities: { root: { commonName: 'Session Memory Root' } },
  certificates: { m: { subject: 'mx.m.example', issuer: 'root' } },
  organizations: { m: { domains: ['m.example'] } },
  nodes: { m: { role: 'internet', hostname: 'mx.m.example', address: '127.0.0.233', organization: 'm', certificate: 'm', mailboxes: ['r@m.example'] } },
};

test('a closed STARTTLS session leaves no socket reachable at the node', async () => {
  const lab = await Lab.start(topology, { certsDir: mkdtempSync(join(tmpdir(), 'relaylab-session-memory-')) });
  try {
    const node = lab.node('m');
    const accepted: Array<WeakRef<Socket>> = [];
    (node as unknown as { server: { server: { on(e: 'connection', l: (s: Socket) => void): void } } }).server.server.on('connection', (s) =>
      accepted.push(new WeakRef(s)),
    );
    for (let i = 0; i < 3; i++) {
      const client = new SMTPConnection({ host: '127.0.0.233', port: node.port, requireTLS: true, name: 'client.example', tls: { rejectUnauthorized: false } });
      await new Promise<void>((resolve, reject) => {
        client.once('error', reject);
        client.connect(() => resolve());
      });
      expect(client.secure).toBe(true);
      const closed = new Promise((r) => client.once('end', r));
      client.quit();
      await closed;
    }
    expect(accepted).toHaveLength(3);
    // The server side finishes closing after the client saw the end.
    for (let i = 0; i < 50 && accepted.some((r) => r.deref()); i++) {
      await new Promise((r) => setTimeout(r, 20));
      gc();
    }
    expect(accepted.filter((r) => r.deref()).length).toBe(0);
  } finally {
    await lab.stop();
  }
});
