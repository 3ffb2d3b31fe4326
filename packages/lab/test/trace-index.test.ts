import type { AttemptEvent, ReceivedEvent, TraceEvent } from '@relaylab/core';
import { fateOf, judge, type Scenario } from '@relaylab/lab';
import { TraceIndex } from '../src/trace-index';

/**
 * The judge indexes a scenario's trace once (by Message-ID, and pass-through links by device and
 * client end) instead of scanning it per message. The index must find what the scans found: both
 * copies that share a Message-ID, and the links that carry no Message-ID at all.
 */

const at = '2026-11-25T00:00:00.000Z';
const tls = { starttlsOffered: true, secure: false };
const id = '<dup@x>';
const client = { ip: '127.0.0.10', port: 40001 };

const attempt = (recipients: string[], accepted: string[]): AttemptEvent => ({
  type: 'attempt',
  at,
  node: 'a',
  messageId: id,
  recipients,
  accepted,
  connector: 'out',
  connectorKind: 'send',
  destination: { host: 'lb.b.example', ip: '127.0.0.41', port: 25 },
  local: client,
  connectionId: 'c1',
  reusedConnection: 0,
  tls,
  tlsRequirement: 'opportunistic',
  tlsDecision: 'no TLS offered',
  outcome: 'sent',
  replies: ['250 OK'],
});
const received = (node: string, remote: { ip: string; port: number }): ReceivedEvent => ({
  type: 'received',
  at,
  node,
  sessionId: `s-${node}`,
  messageId: id,
  from: 's@a.example',
  to: ['r1@b.example', 'r2@b.example'],
  local: { ip: '127.0.0.20', port: 25 },
  remote,
  ehlo: 'a',
  tls,
  connector: `in at ${node}`,
  reason: 'default',
  replies: [],
  headersIn: [{ name: 'Subject', value: `at ${node}` }],
});

// two messages of the scenario share one Message-ID; the device's links and other events carry none
const events: TraceEvent[] = [
  { type: 'submitted', at, node: 'a', messageId: id, from: 's@a.example', to: ['r1@b.example'], headersIn: [] },
  {
    type: 'forwarded',
    at,
    node: 'lb',
    client: { ip: client.ip, port: 39999 },
    local: { ip: client.ip, port: 1 },
    target: { ip: '127.0.0.30', port: 25 },
    to: 'c',
  },
  { type: 'submitted', at, node: 'a', messageId: id, from: 's@a.example', to: ['r2@b.example'], headersIn: [] },
  { type: 'fault', at, node: 'b', fault: 'slow', detail: 'slowed' },
  attempt(['r1@b.example', 'r2@b.example'], ['r1@b.example', 'r2@b.example']),
  // the link for this attempt's connection, then a later one with the same client end: the first counts
  { type: 'forwarded', at, node: 'lb', client, local: { ip: client.ip, port: 50001 }, target: { ip: '127.0.0.20', port: 25 }, to: 'b' },
  { type: 'forwarded', at, node: 'lb', client, local: { ip: client.ip, port: 50002 }, target: { ip: '127.0.0.30', port: 25 }, to: 'c' },
  { type: 'refused', at, node: 'b', sessionId: 'x', command: 'RCPT TO', remote: client, reply: '550 5.1.1', reason: 'unknown' },
  received('c', { ip: client.ip, port: 50002 }),
  received('b', { ip: client.ip, port: 50001 }),
  { type: 'delivered', at, node: 'b', messageId: id, recipient: 'r1@b.example', mailbox: 'r1@b.example', folder: 'Inbox' },
  { type: 'deferred', at, node: 'b', messageId: id, recipients: ['r2@b.example'], reply: '451 4.4.0 first', reason: 'busy' },
  { type: 'deferred', at: '2026-11-25T00:05:00.000Z', node: 'b', messageId: id, recipients: ['r2@b.example'], reply: '451 4.4.0 second', reason: 'busy' },
];
const nodeAt = (ip: string, port: number) => (ip === '127.0.0.41' && port === 25 ? 'lb' : undefined);

test('indexed, every fate is the one the scans read: shared Message-ID, first pass-through link', () => {
  const index = new TraceIndex(events);
  for (const rcpt of ['r1@b.example', 'R2@b.example', 'nobody@b.example']) {
    expect(fateOf(index, id, rcpt, nodeAt)).toEqual(fateOf(events, id, rcpt, nodeAt));
  }
  const r1 = fateOf(index, id, 'r1@b.example', nodeAt);
  expect(r1).toMatchObject({ state: 'delivered', node: 'b', path: ['a', 'c', 'b'] });
  expect(r1.hops).toEqual([expect.objectContaining({ from: 'a', to: 'b', via: ['lb'], inboundConnector: 'in at b' })]);
  expect(fateOf(index, id, 'r2@b.example', nodeAt)).toMatchObject({ state: 'deferred', reply: '451 4.4.0 second', retries: 2 });
  expect(index.of('<other@x>')).toEqual([]);
  expect(index.of(undefined)).toEqual([]);
});

test('the judge finds each copy and each recipient, whatever the case of the expectation', () => {
  const scenario = {
    file: 'x.yaml',
    name: 'x',
    topology: { nodes: {} },
    messages: [
      { id: 'm1', from: 's@a.example', to: ['r1@b.example'], via: 'a' },
      { id: 'm2', from: 's@a.example', to: ['r2@b.example'], via: 'a' },
    ],
    expect: [
      { message: 'm1', recipient: 'R1@B.example', state: 'delivered', mailbox: 'r1@b.example', unchanged: [{ headers: ['Subject'], from: 'c', to: 'b' }] },
      { message: 'm2', state: 'deferred' },
      { message: 'm2', recipient: 'r1@b.example', state: 'delivered' },
    ],
  } as Scenario;
  const ids = new Map([
    ['m1', id],
    ['m2', id],
  ]);
  const judged = judge(scenario, ids, events, nodeAt, () => undefined);
  expect(judged.fates.map((f) => [f.message, f.fate.state])).toEqual([
    ['m1', 'delivered'],
    ['m2', 'deferred'],
  ]);
  expect(judged.expectations.map((e) => [e.name, e.passed])).toEqual([
    ['m1 → R1@B.example: delivered', false],
    ['m2 → r2@b.example: deferred', true],
    ['m2 → r1@b.example: delivered', false],
  ]);
  // the headers as each node received them: found by Message-ID and node
  expect(judged.failures.map((f) => [f.subject, f.field, f.expected, f.actual])).toEqual([
    ['m1 → R1@B.example', 'unchanged[c → b].Subject', ['at c'], ['at b']],
    ['m2 → r1@b.example', 'recipient', 'r1@b.example', 'r2@b.example'],
  ]);
  expect(judged.failures[1]).toEqual({ subject: 'm2 → r1@b.example', field: 'recipient', expected: 'r1@b.example', actual: 'r2@b.example', story: [] });
});
