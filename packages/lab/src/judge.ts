import { headerEnd, type TraceEvent } from '@relaylab/core';
import { accountFor, ndrFate } from './accounting';
import { checkExpectation, headerSnapshot, storedHeaderBytes } from './assertions';
import { labMessageId } from './compose';
import { fateOf } from './outcomes';
import type { ScenarioResult } from './runner';
import type { Scenario } from './scenario-model';

/** Reads a delivered copy back: node, mailbox, Message-ID → bytes. */
export type MailboxReader = (node: string, mailbox: string, messageId: string) => Buffer | undefined;

/**
 * Everything a runner concludes once the lab has settled, from the trace and the mailboxes only:
 * fates (DSNs followed), accounting, and every expectation. Embedded and process labs share it,
 * so both modes judge alike.
 */
export function judge(
  scenario: Scenario,
  ids: ReadonlyMap<string, string>,
  events: readonly TraceEvent[],
  nodeAt: (ip: string, port: number) => string | undefined,
  read: MailboxReader,
): Pick<ScenarioResult, 'fates' | 'failures' | 'unaccounted' | 'checks'> {
  const out: Pick<ScenarioResult, 'fates' | 'failures' | 'unaccounted' | 'checks'> = { fates: [], failures: [], unaccounted: [], checks: 0 };
  for (const m of scenario.messages) {
    const messageId = ids.get(m.id) ?? labMessageId(scenario.name, m.id);
    for (const recipient of m.to) {
      const fate = fateOf(events, messageId, recipient, nodeAt);
      fate.ndr = ndrFate(fate, m.from, events, nodeAt, read);
      // header expectations read the stored bytes, kept with the fate so reporters read them too
      const stored = fate.state === 'delivered' && fate.node && fate.mailbox ? read(fate.node, fate.mailbox, messageId) : undefined;
      if (stored) fate.storedHeaders = stored.toString('latin1', 0, headerEnd(stored));
      out.fates.push({ message: m.id, recipient, fate });
      if (fate.state === 'unaccounted' || fate.finalStates.length > 1) out.unaccounted.push(`${m.id} → ${recipient}`);
    }
  }
  out.failures.push(...accountFor(scenario, new Map(ids), out.fates, events, nodeAt));
  for (const e of scenario.expect) {
    const spec = scenario.messages.find((m) => m.id === e.message)!;
    const messageId = ids.get(e.message) ?? labMessageId(scenario.name, e.message);
    for (const recipient of e.recipient ? [e.recipient] : spec.to) {
      const entry = out.fates.find((f) => f.message === e.message && f.recipient.toLowerCase() === recipient.toLowerCase());
      if (!entry) {
        out.failures.push({ subject: `${e.message} → ${recipient}`, field: 'recipient', expected: recipient, actual: spec.to.join(', '), story: [] });
        continue;
      }
      const { fate } = entry;
      const checked = checkExpectation(e, recipient, fate, storedHeaderBytes(fate), headerSnapshot(events, messageId, fate));
      out.checks += checked.passed + checked.failures.length;
      out.failures.push(...checked.failures);
    }
  }
  return out;
}
