import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadScenarioFile, runScenarios, type ScenarioResult } from '@relaylab/lab';

const certsDir = mkdtempSync(join(tmpdir(), 'relaylab-runner-keep-'));
const scenario = (name: string) => loadScenarioFile(resolve(__dirname, '../../../scenarios', name));

test("keep: 'verdicts' hands each whole result to onResult, then keeps it without its trace", async () => {
  const heard: ScenarioResult[] = [];
  const traces: number[] = [];
  const scenarios = [scenario('hybrid-onprem-to-cloud-internal.yaml'), scenario('partner-forced-tls-inbound.yaml')];
  const kept = await runScenarios(scenarios, {
    certsDir,
    concurrency: 2,
    keep: 'verdicts',
    onResult: (r) => {
      heard.push(r);
      traces.push(r.trace.length);
    },
  });
  expect(traces.every((n) => n > 0)).toBe(true);
  expect(kept.map((r) => r.scenario)).toEqual(scenarios);
  for (const r of kept) {
    // what the run holds once a scenario is reported: its verdicts, and no trace
    expect(r.trace).toEqual([]);
    const whole = heard.find((h) => h.scenario === r.scenario)!;
    expect(r).not.toBe(whole);
    expect({ ...r, trace: whole.trace }).toEqual(whole);
    expect(r.passed).toBe(true);
  }
}, 60_000);

test('by default results come back whole', async () => {
  const [r] = await runScenarios([scenario('partner-forced-tls-inbound.yaml')], { certsDir });
  expect(r!.trace.length).toBeGreaterThan(0);
}, 60_000);
