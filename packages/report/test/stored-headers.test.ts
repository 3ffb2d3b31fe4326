import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarioFile, runScenario, type ScenarioResult } from '@relaylab/lab';
import { renderHtml } from '@relaylab/report';
import { repo } from './run-once';

/**
 * What a report shows as delivered is the bytes the runner read from the mailbox, not headers
 * rebuilt from the trace: where the two differ, the report sides with the mailbox.
 */

let result: ScenarioResult;
beforeAll(async () => {
  const s = loadScenarioFile(join(repo, 'scenarios/internet-claims-internal-header.yaml'));
  result = await runScenario(s, { certsDir: mkdtempSync(join(tmpdir(), 'relaylab-stored-headers-')) });
}, 60_000);

test('an honest run passes and every expectation verdict passes', () => {
  expect(result.passed).toBe(true);
  expect(result.expectations.every((e) => e.passed)).toBe(true);
});

test('the HTML report shows the header section the mailbox holds, even where the trace says otherwise', () => {
  const removed = result.trace.find((e) => e.type === 'header' && e.op === 'remove' && /^X-MS-Exchange-CrossPremises-AuthAs$/i.test(e.name));
  expect(removed).toBeDefined();
  const entry = result.fates.find((f) => f.fate.state === 'delivered')!;
  const kept = `X-MS-Exchange-CrossPremises-AuthAs : Internal\r\n${entry.fate.storedHeaders}`;
  const tampered: ScenarioResult = { ...result, fates: result.fates.map((f) => (f === entry ? { ...f, fate: { ...f.fate, storedHeaders: kept } } : f)) };
  const stored = /<details class="delivered-headers">[^]*?<\/details>/.exec(
    renderHtml({ startedAt: '2026-01-01T00:00:00Z', durationMs: 1, results: [tampered] }),
  )![0];
  expect(stored).toContain('X-MS-Exchange-CrossPremises-AuthAs : Internal');
  const honest = /<details class="delivered-headers">[^]*?<\/details>/.exec(
    renderHtml({ startedAt: '2026-01-01T00:00:00Z', durationMs: 1, results: [result] }),
  )![0];
  expect(honest).not.toMatch(/CrossPremises-AuthAs/i);
});
