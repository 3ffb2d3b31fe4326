import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryTrace, nodeContext, StaticResolver, VirtualClock, type FinalFailureEvent, type Topology } from '@relaylab/core';
import { MailNode } from '@relaylab/mta';

/**
 * A queue whose next hop is down keeps at most its body budget of messages in memory; the rest
 * wait in the spool and are read back, byte for byte, when the next hop comes up. A spool file
 * that is gone or damaged by then ends its message as bounced, with why, never silently.
 */
const topology: Topology = {
  organizations: { relay: { domains: ['relay.example'] }, dest: { domains: ['dest.example'] } },
  nodes: {
    relay: { role: 'internet', hostname: 'mx.relay.example', address: '127.0.0.186', organization: 'relay', mailboxes: ['a@relay.example'] },
    dest: { role: 'internet', hostname: 'mx.dest.example', address: '127.0.0.187', organization: 'dest', mailboxes: ['b@dest.example'] },
  },
  dns: { mx: { 'dest.example': ['mx.dest.example'] } },
};

const nodes: MailNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
});

async function start(name: 'relay' | 'dest', extra: Partial<ConstructorParameters<typeof MailNode>[0]> = {}, destPort = 1) {
  const clock = new VirtualClock();
  const trace = new MemoryTrace();
  const node = new MailNode({
    ctx: nodeContext(name, topology.nodes[name]!, topology.organizations),
    material: { trust: { anchors: [], crls: [] } },
    resolver: new StaticResolver(topology.dns, topology.nodes),
    clock,
    trace,
    directory: { portOf: () => destPort, nodeAt: (ip, p) => (p === destPort ? 'dest' : undefined) },
    port: 0,
    ...extra,
  });
  nodes.push(node);
  await node.start();
  return { node, clock, trace };
}

const until = async (what: string, ok: () => boolean, ms = 30_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function message(i: number): Buffer {
  const body = randomBytes(1500)
    .toString('base64')
    .replace(/(.{76})/g, '$1\r\n');
  return Buffer.from(`From: a@relay.example\r\nTo: b@dest.example\r\nMessage-ID: <budget-${i}@relay.example>\r\nSubject: ${i}\r\n\r\n${body}\r\n`);
}

/** The relay, with its next hop down, has tried each message once and written down what it owes. */
async function relayHolding(count: number, bodyBudget: number) {
  const dest = await start('dest');
  await dest.node.takeDown();
  const spoolDir = mkdtempSync(join(tmpdir(), 'relaylab-budget-'));
  const relay = await start('relay', { spoolDir, bodyBudget }, dest.node.port);
  const sent = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const raw = message(i);
    sent.set(`<budget-${i}@relay.example>`, raw);
    relay.node.submit({ from: 'a@relay.example', to: ['b@dest.example'], raw });
  }
  await until(
    'the first attempts',
    () => relay.node.queue.pending().length === count && relay.node.queue.pending().every((i) => i.attempts === 1) && relay.node.isIdle(),
  );
  // The Buffers are let go once the spool's writes are on disk, a turn after isIdle() says so.
  await new Promise((r) => setTimeout(r, 50));
  return { dest, relay, sent, spoolDir };
}

/** The next hop comes back and the relay's retries are due. */
async function nextHopUp(dest: MailNode, relay: { node: MailNode; clock: VirtualClock }) {
  await dest.bringUp();
  const due = relay.node.queue.nextDueAt()!;
  relay.clock.advance(due.getTime() - relay.clock.now().getTime());
  relay.node.queue.kick();
}

test('a queue keeps at most its body budget in memory and delivers every message byte for byte', async () => {
  const budget = 10 * 1024;
  const { dest, relay, sent } = await relayHolding(50, budget);
  const queued = relay.node.queue.pending();
  expect(relay.node.queue.bodyBytesHeld).toBeLessThanOrEqual(budget);
  const held = queued.filter((i) => i.raw).reduce((n, i) => n + i.raw!.length, 0);
  expect(held).toBeLessThanOrEqual(budget);
  expect(held).toBe(relay.node.queue.bodyBytesHeld);
  expect(queued.filter((i) => !i.raw).length).toBeGreaterThanOrEqual(44);

  await nextHopUp(dest.node, relay);
  await until('all 50 delivered', () => dest.node.mailboxes.get('b@dest.example').length === 50 && relay.node.isIdle());

  const got = dest.node.mailboxes.get('b@dest.example');
  expect(new Set(got.map((m) => m.messageId)).size).toBe(50);
  for (const m of got) {
    const original = sent.get(m.messageId)!;
    // The receiver puts its Received field on top; what follows is what was sent.
    expect(sha(m.raw.subarray(m.raw.length - original.length))).toBe(sha(original));
  }
  expect(relay.node.queue.pending()).toHaveLength(0);
  expect(relay.node.queue.bodyBytesHeld).toBe(0);
}, 60_000);

test('messages that expire with their bodies on disk all bounce with DSNs that carry their headers', async () => {
  const { relay } = await relayHolding(20, 0);
  expect(relay.node.queue.pending().every((i) => !i.raw)).toBe(true);
  relay.clock.advance(10 * 24 * 60 * 60_000);
  relay.node.queue.kick();
  await until('every message expired', () => relay.node.queue.pending().length === 0 && relay.node.isIdle());

  const bounced = relay.trace.events.filter((e): e is FinalFailureEvent => e.type === 'bounced');
  expect(bounced).toHaveLength(20);
  expect(bounced.every((b) => b.reply.startsWith('550 4.4.7') && b.dsn)).toBe(true);
  const dsns = relay.node.mailboxes.get('a@relay.example').map((m) => m.raw.toString('latin1'));
  const returned = dsns.filter((d) => d.includes('Undeliverable')).map((d) => /Message-ID: (<budget-\d+@relay\.example>)\r\nSubject/.exec(d)?.[1]);
  expect(new Set(returned).size).toBe(20);
}, 60_000);

test('a spool file gone or damaged before the retry ends its message as bounced, saying why', async () => {
  const { dest, relay, spoolDir } = await relayHolding(3, 0);
  const [gone, damaged, fine] = relay.node.queue.pending();
  expect([gone!.raw, damaged!.raw, fine!.raw]).toEqual([undefined, undefined, undefined]);
  rmSync(join(spoolDir, `${gone!.id}.json`));
  writeFileSync(join(spoolDir, `${damaged!.id}.json`), '{"version":1,"id":');

  await nextHopUp(dest.node, relay);
  await until('every message accounted for', () => relay.node.queue.pending().length === 0 && relay.node.isIdle());

  expect(dest.node.mailboxes.get('b@dest.example').map((m) => m.messageId)).toEqual([fine!.messageId]);
  const bounced = relay.trace.events.filter((e): e is FinalFailureEvent => e.type === 'bounced');
  expect(bounced.map((b) => b.messageId).sort()).toEqual([gone!.messageId, damaged!.messageId].sort());
  const reasonOf = (id: string) => bounced.find((b) => b.messageId === id)!.reason;
  expect(reasonOf(gone!.messageId)).toMatch(/could not be read back from the spool: spool file .* is missing/);
  expect(reasonOf(damaged!.messageId)).toMatch(/is not a valid queue item \(not JSON.*\); moved to .*corrupt/);
  for (const b of bounced) expect(b.reply).toMatch(/^550 5\.3\.0 /);
  // The damaged file is kept for a person to look at; neither is left to be retried.
  expect(readdirSync(join(spoolDir, 'corrupt'))).toEqual([`${damaged!.id}.json`]);
  expect(existsSync(join(spoolDir, `${damaged!.id}.json`))).toBe(false);
  // The sender is told (the DSN cannot carry the original's headers).
  expect(bounced.every((b) => b.dsn)).toBe(true);
}, 60_000);
