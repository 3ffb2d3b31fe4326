import type { Checkpoint } from '../../src/plan/plan-model';
import { parseBound } from '../../src/plan/plan-loader';
import { judgeCheckpoint, type MessageStanding } from '../../src/plan/plan-verdict';

const m = (id: string, over: Partial<MessageStanding>): MessageStanding => ({
  messageId: id,
  direction: 'cloud-to-onprem',
  submittedAtMs: 60_000,
  state: 'delivered',
  endedAtMs: 60_000,
  deferred: false,
  path: ['eop', 'onprem'],
  story: '',
  ...over,
});
const checkpoint = (over: Partial<Checkpoint>): Checkpoint => ({ atMs: 3_600_000, name: 'cp', directions: {}, ...over });

test('a lost message fails every checkpoint, whatever it asks', () => {
  const v = judgeCheckpoint(checkpoint({}), 0, [m('a', {}), m('b', { state: 'lost' })]);
  expect(v.passed).toBe(false);
  expect(v.failures.map((f) => [f.check, f.actual, f.messages.map((x) => x.messageId)])).toEqual([['no message lost', '1 lost', ['b']]]);
});

test('shares, delays and classification are judged over the interval; queued over everything sent', () => {
  const standings = [
    m('old-queued', { submittedAtMs: 0, state: 'queued', deferred: true }),
    m('ok', { submittedAtMs: 1_800_000, endedAtMs: 1_800_000, authAs: 'Internal' }),
    m('late', { submittedAtMs: 1_800_000, endedAtMs: 3_000_000, deferred: true, authAs: 'Anonymous' }),
    m('waiting', { submittedAtMs: 2_400_000, state: 'queued', deferred: true }),
  ];
  const v = judgeCheckpoint(
    checkpoint({
      queued: parseBound(0),
      directions: {
        'cloud-to-onprem': { delivered: parseBound('100%', true), maxDelayMs: 600_000, maxDelayText: '10m', authAs: 'Internal', deferred: parseBound('<= 1') },
      },
    }),
    1_000_000,
    standings,
  );
  expect(v.interval).toEqual({ fromMs: 1_000_000, messages: 3, delivered: 2, returned: 0, queued: 1, deferred: 2 });
  expect(v.failures.map((f) => [f.check, f.expected, f.actual, f.messages.map((x) => x.messageId)])).toEqual([
    ['queued', '0', '2', ['old-queued', 'waiting']],
    ['cloud-to-onprem: delivered', '100%', '66.7% (2 of 3)', ['waiting']],
    ['cloud-to-onprem: maxDelay', '10m', '20m (2 later than that)', ['late', 'waiting']],
    ['cloud-to-onprem: authAs', 'Internal', 'Anonymous for 1 of 2 delivered', ['late']],
    ['cloud-to-onprem: deferred', '<= 1', '2', ['late', 'waiting']],
  ]);
});

test('bounds: a bare count is exact, a bare share is a floor', () => {
  expect(parseBound(3)).toMatchObject({ op: '=', value: 3 });
  expect(parseBound('>= 1')).toMatchObject({ op: '>=', value: 1 });
  expect(parseBound('95%', true)).toMatchObject({ op: '>=', value: 0.95 });
  expect(parseBound('<= 0%', true)).toMatchObject({ op: '<=', value: 0 });
});
