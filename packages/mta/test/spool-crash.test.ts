import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { MemoryTrace, nodeContext, StaticResolver, VirtualClock, type Topology } from '@relaylab/core';
import { MailNode } from '@relaylab/mta';

/**
 * The spool is the promise behind "250 Queued": a relay node in its own process accepts a
 * message for a destination that is down, is killed with SIGKILL right after the 250, and a new
 * process on the same spool delivers it once the destination is up.
 */
const topology: Topology = {
  organizations: { relay: { domains: ['relay.example'] }, dest: { domains: ['dest.example'] } },
  nodes: {
    relay: { role: 'internet', hostname: 'mx.relay.example', address: '127.0.0.180', organization: 'relay', mailboxes: ['a@relay.example'] },
    dest: { role: 'internet', hostname: 'mx.dest.example', address: '127.0.0.181', organization: 'dest', mailboxes: ['b@dest.example'] },
  },
  dns: { mx: { 'dest.example': ['mx.dest.example'] } },
};
// Anonymous relay through `relay` needs a connector that grants it; the test sends as a client on its own IP.
topology.nodes.relay.receiveConnectors = [{ Name: 'relay', RemoteIPRanges: ['127.0.0.182'], PermissionGroups: ['AnonymousUsers'], ExtendedRights: ['ms-Exch-SMTP-Accept-Any-Recipient'] }];

const fixture = join(__dirname, 'fixtures/spool-node.js');
const children: ChildProcess[] = [];
let dest: MailNode | undefined;
afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await dest?.stop();
});

function startRelay(spool: string, port: number, destPort: number, advanceMinutes: number): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const child = spawn(process.execPath, [fixture, JSON.stringify(topology), 'relay', spool, String(port), JSON.stringify({ '127.0.0.181': destPort }), String(advanceMinutes)], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /listening (\d+)/.exec(out);
      if (m) {
        clearInterval(timer);
        resolve({ child, port: Number(m[1]), output: () => out });
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`relay exited: ${err}`));
      }
    }, 20);
  });
}

function sendThrough(port: number): Promise<string> {
  const c = new SMTPConnection({ host: '127.0.0.180', port, localAddress: '127.0.0.182', name: 'client.example', ignoreTLS: true });
  return new Promise((resolve, reject) => {
    c.on('error', reject);
    c.connect(() =>
      c.send({ from: 'a@relay.example', to: ['b@dest.example'] }, Buffer.from('From: a@relay.example\r\nTo: b@dest.example\r\nMessage-ID: <crash-1@relay.example>\r\nSubject: survive\r\n\r\nstill here\r\n'), (err, info) => {
        if (err) return reject(err);
        resolve(info.response);
      }),
    );
  });
}

async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('a node killed with SIGKILL after its 250 delivers the message after restart, exactly once', async () => {
  const spool = mkdtempSync(join(tmpdir(), 'relaylab-crash-'));
  // The destination's port is reserved but nothing listens yet: the relay's first attempt is refused.
  dest = new MailNode({
    ctx: nodeContext('dest', topology.nodes.dest, topology.organizations),
    material: { trust: { anchors: [], crls: [] } },
    resolver: new StaticResolver(topology.dns, topology.nodes),
    clock: new VirtualClock(),
    trace: new MemoryTrace(),
    directory: { portOf: () => 1, nodeAt: () => undefined },
    port: 0,
  });
  await dest.start();
  const destPort = dest.port;
  await dest.takeDown();

  const first = await startRelay(spool, 0, destPort, 0);
  const reply = await sendThrough(first.port);
  expect(reply).toMatch(/^250 2\.6\.0 <crash-1@relay\.example> Queued mail for delivery/);
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));

  // What the 250 promised is on disk: one item, the whole message, the recipient still owed.
  const files = readdirSync(spool).filter((f) => f.endsWith('.json'));
  expect(files).toHaveLength(1);
  const stored = JSON.parse(readFileSync(join(spool, files[0]), 'utf8'));
  expect(stored).toMatchObject({ messageId: '<crash-1@relay.example>', from: 'a@relay.example', recipients: ['b@dest.example'] });
  expect(Buffer.from(stored.raw, 'base64').toString()).toContain('still here');

  await dest.bringUp();
  // Ten lab minutes later, the retry the first process scheduled is due.
  const second = await startRelay(spool, 0, destPort, 10);
  await until(() => dest!.mailboxes.get('b@dest.example').length > 0, 'delivery after restart');
  await until(() => readdirSync(spool).filter((f) => f.endsWith('.json')).length === 0, 'the spool to empty');
  await new Promise((r) => setTimeout(r, 200));
  const delivered = dest.mailboxes.get('b@dest.example');
  expect(delivered).toHaveLength(1);
  expect(delivered[0].messageId).toBe('<crash-1@relay.example>');
  expect(delivered[0].raw.toString()).toContain('still here');
  second.child.kill('SIGTERM');
}, 30_000);
