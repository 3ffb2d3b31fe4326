import type { SubmittedEvent } from '@relaylab/core';
import { ObservedTrace, type Lab } from '@relaylab/lab';
import { LabView } from '../src/web/lab-view';

/**
 * The web view of a lab kept up for days lists its latest messages: per message it holds the
 * numbers of its events, so an unbounded list grew with every message that ever passed.
 */
test('the web view keeps only the latest messages it was asked to', () => {
  const trace = new ObservedTrace();
  const submit = (n: number) => {
    const e: SubmittedEvent = {
      type: 'submitted',
      node: 'a',
      at: new Date(0).toISOString(),
      messageId: `<m${n}@a.example>`,
      from: 's@a.example',
      to: ['r@b.example'],
      headersIn: [{ name: 'Subject', value: `m${n}` }],
    };
    trace.emit(e);
  };
  submit(1);
  const view = new LabView({} as Lab, trace, 3);
  for (let n = 2; n <= 5; n++) submit(n);
  expect(view.messageCount()).toBe(3);
  expect(view.messageIds(0, 10)).toEqual(['<m5@a.example>', '<m4@a.example>', '<m3@a.example>']);
  expect(view.has('<m2@a.example>')).toBe(false);
  expect(view.events('<m2@a.example>')).toEqual([]);
  expect(view.envelope('<m3@a.example>')).toMatchObject({ subject: 'm3', to: ['r@b.example'] });
  // Dropped from the view, never from the trace.
  expect(trace.events.filter((e) => e.type === 'submitted')).toHaveLength(5);
});
