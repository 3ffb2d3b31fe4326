import type { TraceEvent } from '@relaylab/core';
import { headerBlock, headerDiff, headerSteps } from '@relaylab/report';

const id = '<m1@lab>';
const at = '2026-01-01T00:00:00.000Z';
const header = (node: string, op: 'prepend' | 'remove', name: string, value?: string): TraceEvent => ({
  type: 'header',
  at,
  node,
  messageId: id,
  op,
  name,
  value,
  reason: `${node} ${op}s ${name}`,
});

const trace: TraceEvent[] = [
  {
    type: 'submitted',
    at,
    node: 'onprem',
    messageId: id,
    from: 'a@contoso.example',
    to: ['b@fabrikam.example'],
    headersIn: [{ name: 'Subject', value: 'hi' }],
  },
  header('onprem', 'prepend', 'X-MS-Exchange-Organization-AuthAs', 'Internal'),
  header('gateway', 'prepend', 'Message-ID', id), // traced before the gateway's received event: already in headersIn
  {
    type: 'received',
    at,
    node: 'gateway',
    sessionId: 's1',
    messageId: id,
    from: 'a@contoso.example',
    to: ['b@fabrikam.example'],
    local: { ip: '127.0.0.2', port: 25 },
    remote: { ip: '127.0.0.1', port: 4000 },
    ehlo: 'onprem',
    tls: { starttlsOffered: true, secure: false },
    reason: '',
    replies: [],
    headersIn: [
      { name: 'Message-ID', value: id },
      { name: 'X-MS-Exchange-Organization-AuthAs', value: 'Internal' },
      { name: 'Subject', value: 'hi' },
    ],
  },
  header('gateway', 'prepend', 'Received', 'from onprem by gateway'),
  header('gateway', 'prepend', 'X-Temp', 'gone soon'),
  header('gateway', 'remove', 'X-MS-Exchange-Organization-AuthAs'),
  header('gateway', 'remove', 'X-Temp'),
  // another recipient's session at the same node: its edits are not this recipient's
  {
    type: 'received',
    at,
    node: 'gateway',
    sessionId: 's2',
    messageId: id,
    from: 'a@contoso.example',
    to: ['c@other.example'],
    local: { ip: '127.0.0.2', port: 25 },
    remote: { ip: '127.0.0.1', port: 4001 },
    ehlo: 'onprem',
    tls: { starttlsOffered: true, secure: false },
    reason: '',
    replies: [],
    headersIn: [],
  },
  header('gateway', 'prepend', 'X-Other', 'not ours'),
];

test('each node’s step starts from the headers it received and applies only its own edits', () => {
  const steps = headerSteps(trace, id, ['b@fabrikam.example']);
  expect(steps.map((s) => [s.node, s.kind, s.edits.length, s.editsBefore.length])).toEqual([
    ['onprem', 'submitted', 1, 0],
    ['gateway', 'received', 4, 1],
  ]);
  expect(steps[0].headersOut).toEqual([
    { name: 'X-MS-Exchange-Organization-AuthAs', value: 'Internal' },
    { name: 'Subject', value: 'hi' },
  ]);
  expect(steps[1].headersOut.map((f) => f.name)).toEqual(['Received', 'Message-ID', 'Subject']);
});

test('the diff shows what a node added, removed (with the reason) and kept', () => {
  const [, gateway] = headerSteps(trace, id, ['b@fabrikam.example']);
  expect(headerDiff(gateway).map((l) => [l.kind, l.name, l.reason])).toEqual([
    ['added', 'Received', 'gateway prepends Received'],
    ['removed', 'X-Temp', 'gateway removes X-Temp'],
    ['kept', 'Message-ID', undefined],
    ['removed', 'X-MS-Exchange-Organization-AuthAs', 'gateway removes X-MS-Exchange-Organization-AuthAs'],
    ['kept', 'Subject', undefined],
  ]);
});

test('the rebuilt header block reads like a message header', () => {
  const [, gateway] = headerSteps(trace, id, ['b@fabrikam.example']);
  expect(headerBlock(gateway.headersOut).toString()).toBe(`Received: from onprem by gateway\r\nMessage-ID: ${id}\r\nSubject: hi\r\n\r\n`);
});
