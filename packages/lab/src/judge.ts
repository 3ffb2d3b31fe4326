import { headerEnd, type TraceEvent } from '@relaylab/core';
import { accountFor, ndrFate } from './accounting';
import { checkExpectation, headerSnapshot, storedHeaderBytes, type Failure } from './assertions';
import { bodyEvidence } from './body-assertions';
import { labMessageId } from './compose';
import { followDelayNotices } from './lab-time';
import { fateOf, type Fate } from './outcomes';
import type { ScenarioResult } from './runner';
import type { Expectation, Scenario } from './scenario-model';
import { TraceIndex } from './trace-index';

/** One expectation about one recipient, judged: a test case in JUnit terms, a row in every report. */
export interface ExpectationResult {
  /** `good-cert → bob@contoso.example: delivered` */
  name: string;
  /** Index in the scenario's `expect` list. */
  index: number;
  expectation: Expectation;
  message: string;
  recipient: string;
  messageId: string;
  passed: boolean;
  checks: number;
  /** The same objects as in ScenarioResult.failures, so every reporter shows one verdict. */
  failures: Failure[];
}

export type Judgement = Pick<ScenarioResult, 'fates' | 'failures' | 'unaccounted' | 'checks' | 'expectations' | 'messageIds'>;

/** Reads a delivered copy back: node, mailbox, Message-ID → bytes. */
export type MailboxReader = (node: string, mailbox: string, messageId: string) => Buffer | undefined;

/**
 * Everything a runner concludes once the lab has settled, from the trace and the mailboxes only:
 * fates (DSNs followed), accounting, and every expectation. Embedded and process labs share it,
 * so both modes judge alike, and reporters only render what it concluded: nothing is judged twice.
 */
export function judge(
  scenario: Scenario,
  ids: ReadonlyMap<string, string>,
  events: readonly TraceEvent[],
  nodeAt: (ip: string, port: number) => string | undefined,
  read: MailboxReader,
): Judgement {
  const out: Judgement = { fates: [], failures: [], unaccounted: [], checks: 0, expectations: [], messageIds: {} };
  // the whole stored copy, for body expectations; only its header section is kept with the fate
  const storedCopies = new Map<Fate, Buffer>();
  // indexed once: every lookup below is by Message-ID, and a scan per message made judging quadratic
  const trace = new TraceIndex(events);
  const entryKey = (message: string, recipient: string) => JSON.stringify([message, recipient.toLowerCase()]);
  const entries = new Map<string, Judgement['fates'][number]>();
  for (const m of scenario.messages) {
    const messageId = ids.get(m.id) ?? labMessageId(scenario.name, m.id);
    out.messageIds[m.id] = messageId;
    for (const recipient of m.to) {
      const fate = fateOf(trace, messageId, recipient, nodeAt);
      fate.ndr = ndrFate(fate, m.from, trace, nodeAt, read);
      followDelayNotices(fate, trace, nodeAt);
      // header expectations read the stored bytes, kept with the fate so reporters read them too
      const stored = fate.state === 'delivered' && fate.node && fate.mailbox ? read(fate.node, fate.mailbox, messageId) : undefined;
      if (stored) fate.storedHeaders = stored.toString('latin1', 0, headerEnd(stored));
      if (stored) storedCopies.set(fate, stored);
      const entry = { message: m.id, recipient, fate };
      out.fates.push(entry);
      // the first entry wins, as a search of out.fates in order would find it
      if (!entries.has(entryKey(m.id, recipient))) entries.set(entryKey(m.id, recipient), entry);
      if (fate.state === 'unaccounted' || fate.finalStates.length > 1) out.unaccounted.push(`${m.id} → ${recipient}`);
    }
  }
  out.failures.push(...accountFor(scenario, new Map(ids), out.fates, trace, nodeAt));
  const specs = new Map<string, Scenario['messages'][number]>();
  for (const m of scenario.messages) if (!specs.has(m.id)) specs.set(m.id, m);
  scenario.expect.forEach((e, index) => {
    const spec = specs.get(e.message)!;
    const messageId = out.messageIds[e.message] ?? labMessageId(scenario.name, e.message);
    for (const recipient of e.recipient ? [e.recipient] : spec.to) {
      const verdict = { name: `${e.message} → ${recipient}: ${e.state}`, index, expectation: e, message: e.message, recipient, messageId };
      const entry = entries.get(entryKey(e.message, recipient));
      if (!entry) {
        const failure: Failure = { subject: `${e.message} → ${recipient}`, field: 'recipient', expected: recipient, actual: spec.to.join(', '), story: [] };
        out.expectations.push({ ...verdict, passed: false, checks: 0, failures: [failure] });
        out.failures.push(failure);
        continue;
      }
      const { fate } = entry;
      const body = bodyEvidence(trace, messageId, storedCopies.get(fate));
      const checked = checkExpectation(e, recipient, fate, storedHeaderBytes(fate), headerSnapshot(trace, messageId, fate), body);
      out.expectations.push({
        ...verdict,
        passed: checked.failures.length === 0,
        checks: checked.passed + checked.failures.length,
        failures: checked.failures,
      });
      out.checks += checked.passed + checked.failures.length;
      out.failures.push(...checked.failures);
    }
  });
  return out;
}
