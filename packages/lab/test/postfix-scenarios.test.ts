import { join } from 'node:path';
import { loadScenarios } from '../src/loader';
import { runScenario } from '../src/runner';

// The bundled Postfix scenarios live in their own folder, which `relaylab run scenarios/` leaves out
// (a machine without Debian's postfix could not run them); the test script installs Postfix, so here
// they must all pass.
const folder = join(__dirname, '..', '..', '..', 'scenarios', 'postfix');
const certsDir = join(__dirname, '..', '..', '..', 'certs');

test('every scenario in scenarios/postfix/ passes on a real Postfix', async () => {
  const { scenarios, errors } = loadScenarios([folder]);
  expect(errors).toEqual([]);
  expect(scenarios.map((s) => s.name).sort()).toEqual([
    'postfix-gateway-breaks-internal',
    'postfix-onprem-to-partner-domain-validation',
    'postfix-partner-forced-tls',
    'postfix-partner-wrong-name',
  ]);
  const failed: string[] = [];
  for (const scenario of scenarios) {
    const result = await runScenario(scenario, { certsDir });
    if (!result.passed) failed.push(`${scenario.name}: ${result.error ?? JSON.stringify(result.failures.map((f) => [f.subject, f.field, f.actual]))}`);
  }
  expect(failed).toEqual([]);
}, 120_000);

test('relaylab run scenarios/ leaves the Postfix folder out, and names it when asked', () => {
  const all = loadScenarios([join(folder, '..')]).scenarios.map((s) => s.name);
  expect(all.some((n) => n.startsWith('postfix-'))).toBe(false);
  expect(all.length).toBeGreaterThan(30);
});
