import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarioFile, runScenario, type ScenarioResult } from '@relaylab/lab';
import { expectationResults } from '@relaylab/report';
import { repo } from './run-once';

/**
 * Reporters re-check header expectations against the bytes the runner read from the mailbox, not
 * against headers rebuilt from the trace: where the two differ, the report sides with the mailbox.
 */

let result: ScenarioResult;
beforeAll(async () => {
  const s = loadScenarioFile(join(repo, 'scenarios/internet-claims-internal-header.yaml'));
  result = await runScenario(s, { certsDir: mkdtempSync(join(tmpdir(), 'relaylab-stored-headers-')) });
}, 60_000);

test('the report agrees with the runner on an honest run', () => {
  expect(result.passed).toBe(true);
  expect(expectationResults(result).every((e) => e.passed)).toBe(true);
});

test('a mailbox that kept a field the trace says was removed fails `absent` in the report too', () => {
  const removed = result.trace.find((e) => e.type === 'header' && e.op === 'remove' && /^X-MS-Exchange-CrossPremises-AuthAs$/i.test(e.name));
  expect(removed).toBeDefined();
  const fate = result.fates[0].fate;
  const tampered: ScenarioResult = {
    ...result,
    fates: [{ ...result.fates[0], fate: { ...fate, storedHeaders: `X-MS-Exchange-CrossPremises-AuthAs : Internal\r\n${fate.storedHeaders}` } }],
  };
  const [checked] = expectationResults(tampered);
  expect(checked.passed).toBe(false);
  expect(checked.failures.map((f) => [f.field, f.actual])).toEqual([['headers[X-MS-Exchange-CrossPremises-AuthAs].absent', ['Internal']]]);
});
