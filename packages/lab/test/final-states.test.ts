import type { TraceEvent } from '@relaylab/core';
import { fateOf, judge, type Scenario } from '@relaylab/lab';

const at = '2026-11-25T00:00:00.000Z';
const events: TraceEvent[] = [
  { type: 'submitted', at, node: 'a', messageId: '<m1@x>', from: 's@a.example', to: ['r@b.example'], headersIn: [] },
  { type: 'delivered', at, node: 'b', messageId: '<m1@x>', recipient: 'r@b.example', mailbox: 'r@b.example', folder: 'Inbox' },
  { type: 'bounced', at, node: 'a', messageId: '<m1@x>', recipients: ['r@b.example'], reply: '550 4.4.7 QUEUE.Expired', reason: 'a second copy expired' },
];

test('a recipient with two final states is reported, not hidden behind the last one', () => {
  const fate = fateOf(events, '<m1@x>', 'r@b.example', () => undefined);
  expect(fate.finalStates).toEqual(['delivered', 'bounced']);
  const scenario = {
    file: 'x.yaml',
    name: 'x',
    topology: { nodes: {} },
    messages: [{ id: 'm1', from: 's@a.example', to: ['r@b.example'], via: 'a' }],
    expect: [{ message: 'm1', state: 'bounced' }],
  } as Scenario;
  const judged = judge(
    scenario,
    new Map([['m1', '<m1@x>']]),
    events,
    () => undefined,
    () => undefined,
  );
  expect(judged.unaccounted).toEqual(['m1 → r@b.example']);
  expect(judged.fates[0].fate.finalStates).toEqual(['delivered', 'bounced']);
});
