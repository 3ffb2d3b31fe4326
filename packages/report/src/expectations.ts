import { parseHeaders } from '@relaylab/core';
import { checkExpectation, type Expectation, type Failure, type Fate, type HeaderSnapshot, type ScenarioResult } from '@relaylab/lab';
import { headerBlock, headerSteps } from './header-steps';
import { scenarioMessageId } from './message-ids';

/** One expectation about one recipient: a test case in JUnit terms. */
export interface ExpectationResult {
  /** `good-cert → bob@contoso.example: delivered` */
  name: string;
  /** Index in the scenario's `expect` list. */
  index: number;
  expectation: Expectation;
  message: string;
  recipient: string;
  messageId?: string;
  passed: boolean;
  checks: number;
  failures: Failure[];
  fate?: Fate;
}

/**
 * The headers of what was delivered, rebuilt from the trace: the runner read the mailbox while its
 * lab was up and keeps only the verdicts, so a reporter cannot read the stored bytes.
 */
export function deliveredHeaders(result: ScenarioResult, messageId: string, recipient: string, fate: Fate): Buffer | undefined {
  if (fate.state !== 'delivered' || !fate.node) return undefined;
  const steps = headerSteps(result.trace, messageId, fate.addresses?.length ? fate.addresses : [recipient]);
  const last = [...steps].reverse().find((s) => s.node === fate.node);
  return last ? headerBlock(last.headersOut) : undefined;
}

/**
 * Scenario expectations × recipients, each with its own verdict. The runner sums checks per
 * scenario; CI wants one test case per expectation, so the same `checkExpectation` is applied
 * again here, per expectation, to the fates the runner recorded.
 */
export function expectationResults(result: ScenarioResult): ExpectationResult[] {
  const { scenario } = result;
  const out: ExpectationResult[] = [];
  scenario.expect.forEach((expectation, index) => {
    const spec = scenario.messages.find((m) => m.id === expectation.message);
    const messageId = spec ? scenarioMessageId(scenario, spec, result.trace) : undefined;
    for (const recipient of expectation.recipient ? [expectation.recipient] : spec?.to ?? []) {
      const subject = `${expectation.message} → ${recipient}`;
      const name = `${subject}: ${expectation.state}`;
      const entry = result.fates.find((f) => f.message === expectation.message && f.recipient.toLowerCase() === recipient.toLowerCase());
      if (!entry) {
        const failure: Failure = { subject, field: 'recipient', expected: recipient, actual: spec?.to.join(', '), story: [] };
        out.push({ name, index, expectation, message: expectation.message, recipient, messageId, passed: false, checks: 0, failures: [failure] });
        continue;
      }
      const delivered = messageId ? deliveredHeaders(result, messageId, recipient, entry.fate) : undefined;
      // the same snapshot the runner gives: headers as they arrived at a node, or as delivered
      const snapshot: HeaderSnapshot = (node) => {
        if (node === undefined) return delivered ? parseHeaders(delivered) : undefined;
        const seen = result.trace.find((ev) => (ev.type === 'received' || ev.type === 'submitted') && ev.node === node && ev.messageId === messageId);
        return seen && (seen.type === 'received' || seen.type === 'submitted') ? seen.headersIn : undefined;
      };
      const checked = checkExpectation(expectation, recipient, entry.fate, delivered, snapshot);
      out.push({
        name,
        index,
        expectation,
        message: expectation.message,
        recipient,
        messageId,
        passed: checked.failures.length === 0,
        checks: checked.passed + checked.failures.length,
        failures: checked.failures,
        fate: entry.fate,
      });
    }
  });
  return out;
}
