import { parseDuration } from '@relaylab/core';
import { formatLabOffset } from './lab-offset';
import { fateOf, type DelayNotice, type Fate } from './outcomes';
import type { DelayNoticeExpectation, Expectation, LabTime } from './scenario-model';
import { lookupIn, type Trace } from './trace-index';

/**
 * `at: 24h` holds within this of 24 hours after submission: the lab clock also counts the real
 * time the lab spends working (a few milliseconds per attempt, seconds over a day of retries).
 */
export const LAB_TIME_TOLERANCE_MS = 60_000;

/** Lab milliseconds from the message's submission to `at`, when both are known. */
export function sinceSubmission(fate: Pick<Fate, 'submittedAt'>, at: string | undefined): number | undefined {
  if (!fate.submittedAt || !at) return undefined;
  return Date.parse(at) - Date.parse(fate.submittedAt);
}

/** What the expectation asks, in words: `24h after submission (within 1 minute)`. */
export function describeLabTime(want: LabTime): string {
  if (typeof want === 'string') return `${want} after submission (within ${LAB_TIME_TOLERANCE_MS / 60_000} minute)`;
  if (want.after && want.before) return `between ${want.after} and ${want.before} after submission`;
  return want.after ? `${want.after} or later after submission` : `by ${want.before} after submission`;
}

export function labTimeHolds(want: LabTime, sinceMs: number): boolean {
  const ms = (text: string) => parseDuration(text) ?? NaN;
  if (typeof want === 'string') return Math.abs(sinceMs - ms(want)) <= LAB_TIME_TOLERANCE_MS;
  return (want.after === undefined || sinceMs >= ms(want.after)) && (want.before === undefined || sinceMs <= ms(want.before));
}

type Fail = (field: string, expected: unknown, actual: unknown) => void;

/** One `at:` check: `what` names the event, for the failure's words. */
export function checkLabTime(field: string, want: LabTime, fate: Fate, at: string | undefined, what: string, fail: Fail): number {
  const since = sinceSubmission(fate, at);
  if (since === undefined) fail(field, describeLabTime(want), `no ${what} in the trace`);
  else if (!labTimeHolds(want, since)) fail(field, describeLabTime(want), `${formatLabOffset(since)} (lab time ${at})`);
  return 1;
}

/** Follows each delay DSN to its own fate, as the NDR is followed. */
export function followDelayNotices(fate: Fate, events: Trace, nodeAt: (ip: string, port: number) => string | undefined): void {
  if (!fate.delayNotices.length) return;
  const trace = lookupIn(events);
  for (const notice of fate.delayNotices) {
    const own = fateOf(trace, notice.messageId, notice.to, nodeAt);
    notice.state = own.state;
    notice.mailbox = own.mailbox;
  }
}

/** `at`, `retries` and `delayNotice` of one expectation (NDR times are checked with the NDR). */
export function timeChecks(e: Expectation, fate: Fate, fail: Fail): number {
  let checks = 0;
  if (e.at !== undefined) checks += checkLabTime('at', e.at, fate, fate.at, `${e.state} event`, fail);
  if (e.retries !== undefined) {
    checks++;
    if (fate.retries !== e.retries) fail('retries', e.retries, fate.retries);
  }
  if (e.delayNotice !== undefined) checks += delayNoticeChecks(e.delayNotice, fate, fail);
  return checks;
}

function delayNoticeChecks(want: DelayNoticeExpectation, fate: Fate, fail: Fail): number {
  const notices = fate.delayNotices;
  const when = (n: DelayNotice) => `${formatLabOffset(sinceSubmission(fate, n.at) ?? 0)} from ${n.node}`;
  if (want === false) {
    if (notices.length) fail('delayNotice', 'no delay DSN', `${notices.length} sent (${notices.map(when).join(', ')})`);
    return 1;
  }
  const notice = notices[0];
  if (!notice) {
    fail('delayNotice', 'a delay DSN (Action: delayed) back to the envelope sender', 'none was sent');
    return 1;
  }
  let checks = 1;
  if (notices.length > 1) fail('delayNotice', 'one delay DSN', `${notices.length} (${notices.map(when).join(', ')})`);
  const spec = want === true ? {} : want;
  checks++;
  const state = spec.state ?? 'delivered';
  if (notice.state !== state) fail('delayNotice.state', state, notice.state);
  if (state === 'delivered') {
    checks++;
    const mailbox = (spec.mailbox ?? notice.to).toLowerCase();
    if (notice.mailbox !== mailbox) fail('delayNotice.mailbox', mailbox, notice.mailbox);
  }
  if (spec.at !== undefined) checks += checkLabTime('delayNotice.at', spec.at, fate, notice.at, 'delay DSN', fail);
  return checks;
}

/** A window whose `after` is later than its `before` can never hold: refused when the file is loaded. */
export function checkLabTimeWindows(
  e: Expectation,
  here: ReadonlyArray<string | number>,
  report: (path: Array<string | number>, message: string) => void,
): void {
  const windows: Array<[Array<string | number>, LabTime | undefined]> = [
    [['at'], e.at],
    [['ndr', 'at'], e.ndr?.at],
    [['delayNotice', 'at'], typeof e.delayNotice === 'object' ? e.delayNotice.at : undefined],
  ];
  for (const [field, w] of windows) {
    if (!w || typeof w === 'string' || w.after === undefined || w.before === undefined) continue;
    if ((parseDuration(w.after) ?? 0) > (parseDuration(w.before) ?? Infinity)) {
      report([...here, ...field], `after (${w.after}) is later than before (${w.before}): no moment is in this window`);
    }
  }
}
