import { trackingRow, type TraceEvent } from '@relaylab/core';

const base = { at: '2026-01-01T00:00:00.000Z', node: 'eop', messageId: '<m@x>' };
const attempt = (outcome: 'sent' | 'refused' | 'deferred') => ({ ...base, type: 'attempt', outcome }) as unknown as TraceEvent;

test.each([
  [{ ...base, type: 'submitted' }, 'RECEIVE', 'STOREDRIVER'],
  [{ ...base, type: 'received' }, 'RECEIVE', 'SMTP'],
  [{ ...base, type: 'retargeted' }, 'RESOLVE', 'ROUTING'],
  [{ ...base, type: 'deleted' }, 'DROP', 'AGENT'],
  [{ ...base, type: 'refused' }, 'FAIL', 'SMTP'],
  [attempt('sent'), 'SEND', 'SMTP'],
  [attempt('deferred'), 'DEFER', 'SMTP'],
  [attempt('refused'), 'FAIL', 'SMTP'],
  [{ ...base, type: 'delivered' }, 'DELIVER', 'STOREDRIVER'],
  [{ ...base, type: 'deferred' }, 'DEFER', 'QUEUE'],
  [{ ...base, type: 'rejected' }, 'FAIL', 'SMTP'],
  [{ ...base, type: 'bounced' }, 'FAIL', 'QUEUE'],
  [{ ...base, type: 'dsn' }, 'DSN', 'DSN'],
])('%o is tracked as %s from %s', (event, eventId, source) => {
  expect(trackingRow(event as unknown as TraceEvent)).toEqual({ eventId, source });
});

test.each(['header', 'fault', 'restored'])('a %s event is the lab’s own and has no tracking row', (type) => {
  expect(trackingRow({ ...base, type } as unknown as TraceEvent)).toBeUndefined();
});
