import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TraceEvent } from '@relaylab/core';
import { readTraceFile, TraceStore } from '@relaylab/lab';

const event = (i: number, messageId: string): TraceEvent =>
  ({
    type: 'delivered',
    at: new Date(i * 1000).toISOString(),
    node: 'b',
    messageId,
    recipient: 'r@b.example',
    mailbox: 'r@b.example',
    folder: 'Inbox',
  }) as TraceEvent;

test('events past what memory keeps are read back from the file, by index, by message and as an array', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'relaylab-trace-store-')), 'trace.jsonl');
  const store = new TraceStore(file, 5);
  const seen: number[] = [];
  store.subscribe((_e, i) => seen.push(i));
  for (let i = 0; i < 50; i++) store.emit(event(i, `<m${i % 7}@a.example>`));
  expect(store.events.length).toBe(50);
  expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i));
  // Old (from the file) and recent (from memory) read alike.
  expect(store.events[0]).toMatchObject({ messageId: '<m0@a.example>', at: new Date(0).toISOString() });
  expect(store.events[48]).toMatchObject({ messageId: '<m6@a.example>', at: new Date(48000).toISOString() });
  expect(store.events[50]).toBeUndefined();
  expect(store.events.map((e) => e.at)).toEqual(Array.from({ length: 50 }, (_, i) => new Date(i * 1000).toISOString()));
  expect([...store.events]).toHaveLength(50);
  expect(store.eventsOf('<m3@a.example>').map((e) => e.at)).toEqual([3, 10, 17, 24, 31, 38, 45].map((s) => new Date(s * 1000).toISOString()));
  store.close();
  // The file is the whole trace, one line per event, for readTraceFile and jq.
  expect(readTraceFile(file).events).toHaveLength(50);
  expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(50);
});

test('a file a crash cut mid-line: the line is closed, and the events after it read back whole', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-trace-store-'));
  const file = join(dir, 'trace.jsonl');
  const first = new TraceStore(file, 1);
  first.emit(event(1, '<a@a.example>'));
  first.close();
  appendFileSync(file, '{"type":"deliv');
  const second = new TraceStore(file, 1);
  second.emit(event(2, '<b@a.example>'));
  second.emit(event(3, '<c@a.example>'));
  expect(second.events[0]).toMatchObject({ messageId: '<b@a.example>' });
  expect(second.eventsOf('<c@a.example>')).toHaveLength(1);
  second.close();
  expect(readTraceFile(file)).toMatchObject({ damagedLines: 1 });
  expect(readTraceFile(file).events).toHaveLength(3);
});

test('a message older than the index is still found, from the file', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'relaylab-trace-store-')), 'trace.jsonl');
  const store = new TraceStore(file, 2, 3);
  for (let i = 0; i < 40; i++) store.emit(event(i, `<m${i % 10}@a.example>`));
  expect(store.eventsOf('<m0@a.example>').map((e) => e.at)).toEqual([0, 10, 20, 30].map((s) => new Date(s * 1000).toISOString()));
  expect(store.eventsOf('<m9@a.example>')).toHaveLength(4);
  // A Message-ID that another one contains is not confused with it.
  expect(store.eventsOf('<m1@a.example')).toEqual([]);
  store.close();
});

test('a long trace reads back every event, in any order, though memory holds where only some of them start', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'relaylab-trace-store-')), 'trace.jsonl');
  const store = new TraceStore(file, 3, 5);
  const at = (i: number) => new Date(i * 1000).toISOString();
  for (let i = 0; i < 1000; i++) store.emit(event(i, `<m${i % 13}@a.example>`));
  for (const i of [999, 0, 64, 63, 500, 127, 128, 1, 998, 640]) expect(store.events[i]).toMatchObject({ at: at(i), messageId: `<m${i % 13}@a.example>` });
  expect(store.events.map((e) => e.at)).toEqual(Array.from({ length: 1000 }, (_, i) => at(i)));
  // Events emitted after a read of the last, partial block are read too.
  store.emit(event(1000, '<late@a.example>'));
  expect(store.events[1000]).toMatchObject({ messageId: '<late@a.example>' });
  expect(store.eventsOf('<m2@a.example>').map((e) => e.at)).toEqual(Array.from({ length: 77 }, (_, k) => at(2 + 13 * k)));
  store.close();
});
