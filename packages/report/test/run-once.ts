import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadScenarioFile, loadScenarios, runScenarios, type Scenario, type ScenarioResult } from '@relaylab/lab';
import type { RunReport } from '@relaylab/report';

export const repo = resolve(__dirname, '../../..');
const certsDir = mkdtempSync(join(tmpdir(), 'relaylab-report-certs-'));

export async function runReport(scenarios: Scenario[]): Promise<RunReport> {
  const started = Date.now();
  const results: ScenarioResult[] = await runScenarios(scenarios, { certsDir, concurrency: 4 });
  return { startedAt: new Date(started).toISOString(), durationMs: Date.now() - started, results };
}

export function bundledScenarios(): Scenario[] {
  const loaded = loadScenarios([join(repo, 'scenarios')]);
  if (loaded.errors.length) throw new Error(loaded.errors.map((e) => e.message).join('\n'));
  return loaded.scenarios;
}

/** The partner scenario with one hop expectation and one state expectation made wrong. */
export function partnerWithWrongExpectations(): Scenario {
  const s = loadScenarioFile(join(repo, 'scenarios/partner-forced-tls-inbound.yaml'));
  return {
    ...s,
    name: 'partner <wrong> & "quoted"',
    expect: [
      { ...s.expect[0], hops: [{ from: 'fabrikam', to: 'eop', tls: 'TLSv1.2' }] },
      { ...s.expect[1], state: 'delivered', code: undefined, node: undefined, path: undefined },
    ],
  };
}
