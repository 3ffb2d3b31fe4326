import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TraceEvent } from '@relaylab/core';
import { keepMailboxFiles, Lab, loadTopologyFile, MailboxWriter, reconcileMailboxes, TraceStore } from '@relaylab/lab';
import type { StoredMessage } from '@relaylab/mta';

const message = (i: number, box: string, at = new Date('2026-01-01T00:00:00.000Z')): StoredMessage => ({
  messageId: `<m${i}@a.example>`,
  from: 's@a.example',
  recipient: box,
  raw: Buffer.from(`Message-ID: <m${i}@a.example>\r\nSubject: ${i}\r\n\r\n${'body '.repeat(200)}${i}\r\n`),
  deliveredAt: at,
  folder: 'Inbox',
});

const allFiles = (dir: string) => readdirSync(dir).flatMap((box) => readdirSync(join(dir, box)).map((f) => join(dir, box, f)));

test('many deliveries at once: each is a whole .eml when its write resolves, none a temp file, a second copy beside the first', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'relaylab-writer-')), 'mailboxes');
  const writer = new MailboxWriter(dir);
  const messages = Array.from({ length: 300 }, (_, i) => message(i, `user${i % 3}@b.example`));
  // The same message twice at the same instant, as a redelivery after a lost 250 may bring it.
  messages.push(message(7, 'user1@b.example'));
  const seen: string[] = [];
  const writes = messages.map((m) => {
    const w = writer.write(m);
    // What resolved must already be on disk, whole, under its final name.
    return w.durable.then(() => {
      expect(readFileSync(w.file)).toEqual(m.raw);
      seen.push(w.file);
    });
  });
  expect(writer.isIdle()).toBe(false);
  await Promise.all(writes);
  await writer.flush();
  expect(writer.isIdle()).toBe(true);
  const files = allFiles(dir);
  expect(files.filter((f) => !f.endsWith('.eml'))).toEqual([]);
  expect(files.sort()).toEqual([...new Set(seen)].sort());
  expect(files).toHaveLength(301);
  expect(files.filter((f) => /-m7@a\.example(-2)?\.eml$/.test(f))).toHaveLength(2);
});

test('a failed write rejects the deliveries that waited for it and is reported by flush', async () => {
  const base = mkdtempSync(join(tmpdir(), 'relaylab-writer-'));
  // A file where the mailboxes folder should be: nothing can be written under it.
  writeFileSync(join(base, 'mailboxes'), '');
  const writer = new MailboxWriter(join(base, 'mailboxes'));
  await expect(writer.write(message(1, 'a@b.example')).durable).rejects.toThrow();
  await expect(writer.flush()).rejects.toThrow();
  await expect(writer.flush()).resolves.toBeUndefined();
});

describe('a lab whose mailboxes are kept on disk', () => {
  let lab: Lab;
  let base: string;
  let trace: TraceStore;
  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'relaylab-keep-'));
    const file = join(base, 'topology.json');
    writeFileSync(
      file,
      JSON.stringify({
        organizations: { relay: { domains: ['relay.example'] }, dest: { domains: ['dest.example'] } },
        nodes: {
          dest: { role: 'internet', hostname: 'mx.dest.example', address: '127.0.0.243', organization: 'dest', mailboxes: ['b@dest.example'] },
          relay: { role: 'internet', hostname: 'mx.relay.example', address: '127.0.0.244', organization: 'relay', mailboxes: ['a@relay.example'] },
        },
        dns: { mx: { 'dest.example': ['mx.dest.example'] } },
      }),
    );
    // As `relaylab up` runs it: the trace on disk, the queue too.
    trace = new TraceStore(join(base, 'trace.jsonl'));
    lab = await Lab.start(loadTopologyFile(file), { certsDir: join(base, 'certs'), spoolDir: join(base, 'queue'), trace });
  });
  afterAll(async () => {
    await lab.stop();
    trace.close();
  });

  const send = (id: string) =>
    lab.submit('relay', {
      from: 'a@relay.example',
      to: ['b@dest.example'],
      raw: Buffer.from(`From: a@relay.example\r\nTo: b@dest.example\r\nMessage-ID: <${id}@relay.example>\r\nSubject: ${id}\r\n\r\nhi\r\n`),
    });
  const events = (type: TraceEvent['type'], id: string) =>
    [...trace.events].filter((e) => e.type === type && 'messageId' in e && e.messageId === `<${id}@relay.example>`);

  test('the 250 for a message delivered to a mailbox waits until its file is kept: the sender holds it until then', async () => {
    let release!: () => void;
    const kept = new Promise<void>((r) => (release = r));
    const dest = lab.node('dest').mailboxes;
    if (!('keepWith' in dest)) throw new Error('dest is a relaylab node: its mailboxes can be kept');
    dest.keepWith(() => kept);
    send('held');
    const deadline = Date.now() + 10_000;
    while (!events('delivered', 'held').length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(events('delivered', 'held')).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 300));
    // Not yet answered 250, so the relay still owes it.
    expect(events('attempt', 'held')).toEqual([]);
    expect(lab.node('relay').isIdle()).toBe(false);
    release();
    expect(await lab.settle()).toBe(true);
    expect(events('attempt', 'held').map((e) => e.type === 'attempt' && e.outcome)).toEqual(['sent']);
  });

  test('every delivery ends as its .eml, and each line of the trace has its file', async () => {
    const dir = join(base, 'mailboxes');
    const files = keepMailboxFiles(lab.nodes.values(), dir);
    const claimed: Array<Promise<string>> = [];
    const off = trace.subscribe((e) => {
      if (e.type !== 'delivered') return;
      const w = files.written(e);
      if (w) claimed.push(w.durable.then(() => w.file));
    });
    for (let i = 0; i < 60; i++) send(`k${i}`);
    expect(await lab.settle()).toBe(true);
    off();
    await files.writer.flush();
    const written = await Promise.all(claimed);
    const delivered = [...trace.events].filter((e) => e.type === 'delivered' && e.messageId.startsWith('<k'));
    expect(written).toHaveLength(60);
    expect(written.every((f) => existsSync(f))).toBe(true);
    const r = reconcileMailboxes(delivered, dir);
    expect({ withoutFile: r.withoutFile, withoutEvent: r.withoutEvent, files: r.files }).toEqual({ withoutFile: [], withoutEvent: [], files: 60 });
    expect(allFiles(dir).filter((f) => !f.endsWith('.eml'))).toEqual([]);
  });
});
