import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatFailure, loadScenarioFile, runScenario, type Scenario } from '@relaylab/lab';

const file = resolve(__dirname, '../../../scenarios/partner-forced-tls-inbound.yaml');
const certsDir = mkdtempSync(join(tmpdir(), 'relaylab-failing-'));

function withWrongExpectations(): Scenario {
  const s = loadScenarioFile(file);
  return {
    ...s,
    expect: [
      { ...s.expect[0], hops: [{ from: 'fabrikam', to: 'eop', tls: 'TLSv1.2' }] },
      { ...s.expect[1], state: 'delivered', code: undefined, node: undefined, path: undefined },
    ],
  };
}

test('a scenario whose expectation is wrong fails and shows expected against actual', async () => {
  const result = await runScenario(withWrongExpectations(), { certsDir });
  expect(result.passed).toBe(false);
  const fields = result.failures.map((f) => [f.subject, f.field, f.expected, f.actual]);
  expect(fields).toEqual(
    expect.arrayContaining([
      ['good-cert → bob@contoso.example', 'hops[0].tls', 'TLSv1.2', 'TLSv1.3'],
      ['wrong-cert → bob@contoso.example', 'state', 'delivered', 'rejected'],
    ]),
  );
  const text = result.failures.map(formatFailure).join('\n');
  expect(text).toContain('expected: TLSv1.2');
  expect(text).toContain('actual:   TLSv1.3');
  // the story of the refused message explains why
  expect(text).toMatch(/final: rejected at eop: 550 5\.7\.51/);
});

test('the same scenario with its own expectations passes', async () => {
  const result = await runScenario(loadScenarioFile(file), { certsDir });
  expect(result.failures.map(formatFailure)).toEqual([]);
  expect(result.passed).toBe(true);
  expect(result.checks).toBeGreaterThan(5);
});
