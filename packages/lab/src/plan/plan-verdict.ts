import { holds } from './plan-loader';
import type { Bound, Checkpoint, DirectionCheck } from './plan-model';

/** Where one traffic message stands at a checkpoint, read from the trace and the queues. */
export interface MessageStanding {
  messageId: string;
  direction: string;
  submittedAtMs: number;
  /** `returned`: bounced or refused, an NDR to the sender; `lost`: in no final state and no queue. */
  state: 'delivered' | 'returned' | 'deleted' | 'handedOff' | 'queued' | 'lost';
  /** Lab time of the delivery (or other final state). */
  endedAtMs?: number;
  /** Deferred at least once on the way. */
  deferred: boolean;
  authAs?: string;
  sfv?: string;
  /** The nodes it went through, in order. */
  path: string[];
  /** A line or two for the verdict: where it went and the last reply. */
  story: string;
}

export interface CheckFailure {
  check: string;
  expected: string;
  actual: string;
  messages: MessageStanding[];
}

export interface CheckpointVerdict {
  name: string;
  /** Made from a change's drainsWithin: only what is queued counts. */
  generated?: boolean;
  atMs: number;
  passed: boolean;
  /** Messages submitted in the interval [previous checkpoint, this one). */
  interval: { fromMs: number; messages: number; delivered: number; returned: number; queued: number; deferred: number };
  failures: CheckFailure[];
}

const shareText = (x: number) => `${(x * 100).toFixed(x === 1 || x === 0 ? 0 : 1)}%`;

/**
 * Judges one checkpoint over the standings at its time: nothing lost ever, then the counts and
 * shares it asks for over its interval, and every direction's classification. Pure.
 */
export function judgeCheckpoint(checkpoint: Checkpoint, fromMs: number, standings: readonly MessageStanding[]): CheckpointVerdict {
  const failures: CheckFailure[] = [];
  const inInterval = standings.filter((m) => m.submittedAtMs >= fromMs && m.submittedAtMs < checkpoint.atMs);
  const lost = standings.filter((m) => m.state === 'lost');
  if (lost.length) failures.push({ check: 'no message lost', expected: '0 lost', actual: `${lost.length} lost`, messages: lost });
  const count = (check: string, bound: Bound | undefined, matching: MessageStanding[]) => {
    if (bound && !holds(bound, matching.length)) failures.push({ check, expected: bound.text, actual: String(matching.length), messages: matching });
  };
  const returned = (list: readonly MessageStanding[]) => list.filter((m) => m.state === 'returned');
  const deferred = (list: readonly MessageStanding[]) => list.filter((m) => m.deferred);
  const queued = (list: readonly MessageStanding[]) => list.filter((m) => m.state === 'queued');
  count('bounced', checkpoint.bounced, returned(inInterval));
  count('deferred', checkpoint.deferred, deferred(inInterval));
  count('queued', checkpoint.queued, queued(standings));
  count(
    'deleted',
    checkpoint.deleted,
    inInterval.filter((m) => m.state === 'deleted'),
  );
  for (const [direction, check] of Object.entries(checkpoint.directions)) {
    failures.push(
      ...judgeDirection(
        direction,
        check,
        checkpoint.atMs,
        inInterval.filter((m) => m.direction === direction),
        standings.filter((m) => m.direction === direction),
      ),
    );
  }
  return {
    name: checkpoint.name,
    ...(checkpoint.generated && { generated: true }),
    atMs: checkpoint.atMs,
    passed: failures.length === 0,
    interval: {
      fromMs,
      messages: inInterval.length,
      delivered: inInterval.filter((m) => m.state === 'delivered').length,
      returned: returned(inInterval).length,
      queued: queued(inInterval).length,
      deferred: deferred(inInterval).length,
    },
    failures,
  };
}

function judgeDirection(direction: string, check: DirectionCheck, atMs: number, interval: MessageStanding[], all: MessageStanding[]): CheckFailure[] {
  const failures: CheckFailure[] = [];
  const label = (what: string) => `${direction}: ${what}`;
  const delivered = interval.filter((m) => m.state === 'delivered');
  if (check.delivered) {
    const share = interval.length ? delivered.length / interval.length : 1;
    if (!holds(check.delivered, share)) {
      failures.push({
        check: label('delivered'),
        expected: check.delivered.text,
        actual: `${shareText(share)} (${delivered.length} of ${interval.length})`,
        messages: check.delivered.op === '<=' ? delivered : interval.filter((m) => m.state !== 'delivered'),
      });
    }
  }
  if (check.maxDelayMs !== undefined) {
    const delay = (m: MessageStanding) => (m.state === 'delivered' ? m.endedAtMs! : atMs) - m.submittedAtMs;
    const late = interval.filter((m) => (m.state === 'delivered' || m.state === 'queued') && delay(m) > check.maxDelayMs!);
    if (late.length) {
      const worst = Math.max(...late.map(delay));
      failures.push({ check: label('maxDelay'), expected: check.maxDelayText!, actual: `${formatMs(worst)} (${late.length} later than that)`, messages: late });
    }
  }
  for (const key of ['authAs', 'sfv'] as const) {
    const wanted = check[key];
    if (!wanted) continue;
    const off = delivered.filter((m) => (m[key] ?? '(none)').toLowerCase() !== wanted.toLowerCase());
    if (off.length) {
      const seen = [...new Set(off.map((m) => m[key] ?? '(none)'))].join(', ');
      failures.push({ check: label(key), expected: wanted, actual: `${seen} for ${off.length} of ${delivered.length} delivered`, messages: off });
    }
  }
  const count = (name: string, bound: Bound | undefined, matching: MessageStanding[]) => {
    if (bound && !holds(bound, matching.length))
      failures.push({ check: label(name), expected: bound.text, actual: String(matching.length), messages: matching });
  };
  count(
    'bounced',
    check.bounced,
    interval.filter((m) => m.state === 'returned'),
  );
  count(
    'deferred',
    check.deferred,
    interval.filter((m) => m.deferred),
  );
  count(
    'queued',
    check.queued,
    all.filter((m) => m.state === 'queued'),
  );
  count(
    'deleted',
    check.deleted,
    interval.filter((m) => m.state === 'deleted'),
  );
  for (const [node, bound] of Object.entries(check.via ?? {}))
    count(
      `via ${node}`,
      bound,
      delivered.filter((m) => m.path.includes(node)),
    );
  return failures;
}

/** `2h05m`, `30m`, `45s`: a lab duration as the timeline prints it. */
export function formatMs(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h) return `${h}h${m ? `${String(m).padStart(2, '0')}m` : ''}`;
  if (m) return `${m}m${sec ? `${String(sec).padStart(2, '0')}s` : ''}`;
  return `${sec}s`;
}
