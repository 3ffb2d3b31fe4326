import { checkExpectation, headerSnapshot, storedHeaderBytes, type Expectation, type Failure, type Fate, type ScenarioResult } from '@relaylab/lab';
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
 * The headers of what was delivered: the bytes the runner read from the mailbox while its lab was
 * up (Fate.storedHeaders), never a rebuild from the trace, so a report and the mailbox agree.
 */
export function deliveredHeaders(fate: Fate): Buffer | undefined {
  return fate.state === 'delivered' ? storedHeaderBytes(fate) : undefined;
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
      // the same bytes and snapshot the runner judged with
      const checked = checkExpectation(expectation, recipient, entry.fate, deliveredHeaders(entry.fate), headerSnapshot(result.trace, messageId, entry.fate));
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
