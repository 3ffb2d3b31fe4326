import { parseHeaders, type TraceEvent } from '@relaylab/core';
import { accountFor, ndrFate } from './accounting';
import { checkExpectation, type HeaderSnapshot } from './assertions';
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
      const delivered = fate.state === 'delivered' && fate.node ? read(fate.node, fate.mailbox!, messageId) : undefined;
      const snapshot: HeaderSnapshot = (node) => {
        if (node === undefined) return delivered ? parseHeaders(delivered) : undefined;
        const seen = events.find((ev) => (ev.type === 'received' || ev.type === 'submitted') && ev.node === node && ev.messageId === messageId);
        return seen && (seen.type === 'received' || seen.type === 'submitted') ? seen.headersIn : undefined;
      };
      const checked = checkExpectation(e, recipient, fate, delivered, snapshot);
      out.checks += checked.passed + checked.failures.length;
      out.failures.push(...checked.failures);
    }
  }
  return out;
}
