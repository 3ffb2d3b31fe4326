import { createConnection, type Socket } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryTrace, nodeContext, StaticResolver, VirtualClock, type Topology } from '@relaylab/core';
import { MailNode } from '@relaylab/mta';

/**
 * Exchange's back pressure at its medium level: with the queue at its threshold, the reply to MAIL
 * FROM waits (a tarpit) until the queue has drained below three quarters of it; under the
 * threshold it comes at once. A sender faster than the next hop then waits instead of filling the queue.
 */
const topology: Topology = {
  organizations: { relay: { domains: ['relay.example'] }, dest: { domains: ['dest.example'] } },
  nodes: {
    relay: { role: 'internet', hostname: 'mx.relay.example', address: '127.0.0.188', organization: 'relay', mailboxes: ['a@relay.example'] },
    dest: { role: 'internet', hostname: 'mx.dest.example', address: '127.0.0.189', organization: 'dest', mailboxes: ['b@dest.example'] },
  },
  dns: { mx: { 'dest.example': ['mx.dest.example'] } },
};

const nodes: MailNode[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const n of nodes.splice(0)) await n.stop();
});

async function start(name: 'relay' | 'dest', clock: VirtualClock, extra: Partial<ConstructorParameters<typeof MailNode>[0]> = {}, destPort = 1) {
  const node = new MailNode({
    ctx: nodeContext(name, topology.nodes[name]!, topology.organizations),
    material: { trust: { anchors: [], crls: [] } },
    resolver: new StaticResolver(topology.dns, topology.nodes),
    clock,
    trace: new MemoryTrace(),
    directory: { portOf: () => destPort, nodeAt: (ip, p) => (p === destPort ? 'dest' : undefined) },
    port: 0,
    timeouts: { greetingPauseMs: 0 },
    ...extra,
  });
  nodes.push(node);
  await node.start();
  return node;
}

/** A plain SMTP client: each call sends one line and resolves with the next complete reply. */
async function client(port: number) {
  const socket = createConnection({ host: '127.0.0.188', port, localAddress: '127.0.0.1' });
  sockets.push(socket);
  let buffered = '';
  const waiting: Array<(reply: string) => void> = [];
  socket.on('data', (d) => {
    buffered += d.toString();
    let m: RegExpExecArray | null;
    while ((m = /^(?:\d{3}-.*\r\n)*\d{3} .*\r\n/.exec(buffered))) {
      buffered = buffered.slice(m[0].length);
      waiting.shift()?.(m[0].trim());
    }
  });
  const next = () => new Promise<string>((resolve) => waiting.push(resolve));
  await next();
  return (line: string) => {
    const reply = next();
    socket.write(`${line}\r\n`);
    return reply;
  };
}

const until = async (what: string, ok: () => boolean, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

async function relayHolding(count: number) {
  const clock = new VirtualClock();
  const dest = await start('dest', clock);
  await dest.takeDown();
  const relay = await start('relay', clock, { spoolDir: mkdtempSync(join(tmpdir(), 'relaylab-pressure-')), backPressureAt: 4 }, dest.port);
  for (let i = 0; i < count; i++)
    relay.submit({ from: 'a@relay.example', to: ['b@dest.example'], raw: Buffer.from(`Message-ID: <p-${i}@relay.example>\r\nSubject: ${i}\r\n\r\nbody\r\n`) });
  await until('the first attempts', () => relay.queue.pending().length === count && relay.queue.pending().every((i) => i.attempts === 1) && relay.isIdle());
  return { clock, dest, relay };
}

test('under the threshold MAIL FROM is answered at once', async () => {
  const { relay } = await relayHolding(3);
  const say = await client(relay.port);
  await say('EHLO client.example');
  expect(await say('MAIL FROM:<x@client.example>')).toMatch(/^250 /);
});

test('at the threshold MAIL FROM waits until the queue has drained, then is answered 250', async () => {
  const { clock, dest, relay } = await relayHolding(4);
  const say = await client(relay.port);
  await say('EHLO client.example');
  let reply: string | undefined;
  void say('MAIL FROM:<x@client.example>').then((r) => (reply = r));
  await new Promise((r) => setTimeout(r, 500));
  expect(reply).toBeUndefined();
  await dest.bringUp();
  clock.advance(10 * 60_000);
  relay.queue.kick();
  await until('the reply to MAIL FROM', () => reply !== undefined);
  expect(reply).toMatch(/^250 /);
  expect(relay.queue.pending().length).toBeLessThan(3);
});
