import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TraceEvent } from '@relaylab/core';
import { JsonLinesFile, readTraceFile, reconcileMailboxes, sweepMailboxTemps, writeMailboxMessage } from '@relaylab/lab';

/** What `relaylab up` writes to --out, as a process killed in the middle of it leaves it. */
const delivered = (at: string, id: string): TraceEvent => ({
  type: 'delivered',
  at,
  node: 'dest',
  messageId: id,
  recipient: 'b@dest.example',
  mailbox: 'b@dest.example',
  folder: 'Inbox',
});

test('a trace line cut short by a crash is closed before the next run appends, and counted when read', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'relaylab-trace-')), 'trace.jsonl');
  writeFileSync(file, `${JSON.stringify(delivered('2026-01-01T00:00:00.000Z', '<a@x>'))}\n{"type":"deliv`);
  const trace = new JsonLinesFile(file);
  trace.emit(delivered('2026-01-01T00:00:01.000Z', '<b@x>'));
  trace.close();
  const { events, damagedLines } = readTraceFile(file);
  expect(events.map((e) => ('messageId' in e ? e.messageId : ''))).toEqual(['<a@x>', '<b@x>']);
  expect(damagedLines).toBe(1);
  // Written before emit returned: no buffer a kill -9 could lose.
  expect(readFileSync(file, 'utf8').endsWith('"folder":"Inbox"}\n')).toBe(true);
});

test('mailbox files: a second copy never replaces the first, leftovers of cut writes are swept, the trace lines up with the files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-boxes-'));
  const at = new Date('2026-01-01T00:00:00.000Z');
  const m = { messageId: '<a@x>', from: 'a@x', recipient: 'b@dest.example', raw: Buffer.from('Subject: a\r\n\r\nbody\r\n'), deliveredAt: at, folder: 'Inbox' };
  const first = writeMailboxMessage(dir, m);
  const second = writeMailboxMessage(dir, m);
  expect(second).not.toBe(first);
  expect(readFileSync(second, 'utf8')).toBe(m.raw.toString());
  writeFileSync(join(dir, 'b@dest.example', '.x.eml.999999999.tmp'), '');
  expect(sweepMailboxTemps(dir)).toEqual([join(dir, 'b@dest.example', '.x.eml.999999999.tmp')]);
  expect(readdirSync(join(dir, 'b@dest.example')).sort()).toEqual([first, second].map((f) => f.split('/').pop()).sort());
  // Two delivered lines for two files; a third line whose file a crash prevented; no file unmentioned.
  const events = [delivered(at.toISOString(), '<a@x>'), delivered(at.toISOString(), '<a@x>'), delivered('2026-01-01T00:00:05.000Z', '<c@x>')];
  const r = reconcileMailboxes(events, dir);
  expect(r.withoutEvent).toEqual([]);
  expect(r.withoutFile.map((e) => e.messageId)).toEqual(['<c@x>']);
  expect(reconcileMailboxes(events.slice(0, 1), dir).withoutEvent).toEqual([second]);
});
