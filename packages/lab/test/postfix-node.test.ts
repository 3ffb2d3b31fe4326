import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AttemptEvent, ReceivedEvent, Topology } from '@relaylab/core';
import { Lab } from '../src/lab';
import { loadScenarioFile } from '../src/loader';
import { requirePostfix } from '../src/postfix/postfix-node';
import { runScenario } from '../src/runner';

// Real Postfix instances (Debian's package) on loopback, configured and started by the lab.
const certsDir = join(__dirname, '..', '..', '..', 'certs');
const scenarios = join(__dirname, '..', '..', '..', 'scenarios');

describe('a node played by Postfix', () => {
  it("shows the Postfix hop's TLS version and certificate verification in the trace and in the hop", async () => {
    const result = await runScenario(loadScenarioFile(join(scenarios, 'postfix', 'postfix-partner-forced-tls.yaml')), { certsDir });
    expect(result.error).toBeUndefined();
    expect(result.failures).toEqual([]);
    const attempt = result.trace.find((e): e is AttemptEvent => e.type === 'attempt' && e.node === 'fabrikam');
    expect(attempt).toMatchObject({
      outcome: 'sent',
      tls: { secure: true, protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
      tlsRequirement: 'smtp_tls_security_level secure match=mail.protection.outlook.example',
      certificateVerified: true,
      verifiedName: 'mail.protection.outlook.example',
    });
    expect(attempt?.tlsDecision).toMatch(/^Postfix: Verified TLS connection \(TLSv1\.3\)/);
    // The receiving side saw the same connection: Postfix's address and its client certificate.
    const received = result.trace.find((e): e is ReceivedEvent => e.type === 'received' && e.node === 'eop');
    expect(received).toMatchObject({ remote: { ip: '127.0.0.30' }, tls: { protocol: 'TLSv1.3' }, connector: 'Inbound from Fabrikam' });
    const hop = result.fates[0]?.fate.hops[0];
    expect(hop).toMatchObject({ from: 'fabrikam', to: 'eop', tls: 'TLSv1.3', certificateVerified: true, certificateName: 'mail.protection.outlook.example' });
  });

  it("takes the node's TLS versions: a partner capped at TLS 1.2 sends over TLSv1.2, as Postfix logged it", async () => {
    const result = await runScenario(loadScenarioFile(join(__dirname, 'fixtures', 'postfix', 'partner-pinned-tls12.yaml')), { certsDir });
    expect([result.error, result.failures]).toEqual([undefined, []]);
    const attempt = result.trace.find((e): e is AttemptEvent => e.type === 'attempt' && e.node === 'fabrikam');
    expect(attempt?.tls.protocol).toBe('TLSv1.2');
  });

  it('defers while its next hop is down, and is flushed when the lab clock reaches its retry; down and up stop and start it', async () => {
    const result = await runScenario(loadScenarioFile(join(__dirname, 'fixtures', 'postfix', 'eop-down-then-retry.yaml')), { certsDir });
    expect(result.error).toBeUndefined();
    expect(result.failures).toEqual([]);
    const deferred = result.trace.filter((e) => e.type === 'deferred' && e.node === 'fabrikam');
    expect(deferred).toHaveLength(1);
    expect(deferred[0]).toMatchObject({ reply: expect.stringMatching(/^4\.4\.1 connect to 127\.0\.0\.20\[127\.0\.0\.20\]:\d+: Connection refused$/) });
    // delivered on the lab clock at Postfix's first retry (minimal_backoff_time, 5 minutes), not before
    const sent = result.trace.find((e) => e.type === 'received' && e.node === 'eop');
    expect(Date.parse(sent!.at) - Date.parse(deferred[0]!.at)).toBeGreaterThanOrEqual(5 * 60_000);
    // eop deferred to the stopped Postfix (connection refused) and delivered once it was up again
    expect(result.trace.some((e) => e.type === 'deferred' && e.node === 'eop')).toBe(true);
    expect(result.trace.filter((e) => e.type === 'delivered' && e.node === 'fabrikam')).toHaveLength(1);
  });

  it('fails to start with the reason when its port is taken, and leaves no Postfix running', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.30', resolve));
    const port = (taken.address() as AddressInfo).port;
    const topology: Topology = {
      nodes: {
        fabrikam: {
          role: 'partner',
          implementation: 'postfix',
          hostname: 'mail.fabrikam.example',
          address: '127.0.0.30',
          port,
          mailboxes: ['ann@fabrikam.example'],
        },
      },
    };
    const spoolDir = mkdtempSync(join(tmpdir(), 'relaylab-postfix-taken-'));
    try {
      await expect(Lab.start(topology, { certsDir, ports: 'topology', spoolDir })).rejects.toThrow(
        new RegExp(`^Postfix master of node fabrikam exited \\(code 1\\); see \\S+maillog \\(127\\.0\\.0\\.30:${port} is taken by another program\\)$`),
      );
      // master -t: exit status 0 when no master holds this instance's lock
      expect(spawnSync('/usr/lib/postfix/sbin/master', ['-t', '-c', join(spoolDir, 'fabrikam', 'conf')]).status).toBe(0);
    } finally {
      taken.close();
      rmSync(spoolDir, { recursive: true, force: true });
    }
  });

  it("a message Postfix's sendmail refuses ends rejected at the node, with sendmail's reason", async () => {
    const topology: Topology = {
      nodes: {
        fabrikam: { role: 'partner', implementation: 'postfix', hostname: 'mail.fabrikam.example', address: '127.0.0.30', mailboxes: ['ann@fabrikam.example'] },
      },
    };
    const lab = await Lab.start(topology, { certsDir });
    try {
      const id = lab.submit('fabrikam', { from: 'ann@fabrikam.example', to: [], raw: Buffer.from('Subject: none\r\n\r\nbody\r\n') });
      expect(await lab.settle(10_000)).toBe(true);
      expect(lab.trace.events.filter((e) => 'messageId' in e && e.messageId === id).map((e) => e.type)).toEqual(['submitted', 'rejected']);
      expect(lab.trace.events.find((e) => e.type === 'rejected')).toMatchObject({
        node: 'fabrikam',
        reply: expect.stringMatching(/^sendmail exited with status \d+: sendmail: fatal: .*Recipient addresses must be specified/),
      });
    } finally {
      await lab.stop();
    }
  });

  it('names the Debian package in one line when Postfix is not installed', () => {
    expect(() => requirePostfix('fabrikam', ['/nonexistent/postfix'])).toThrow(
      /^node fabrikam has implementation: postfix, but Postfix is not installed \(install the Debian package "postfix": apt-get install postfix\)$/,
    );
    expect(() => requirePostfix('fabrikam')).not.toThrow();
  });
});
