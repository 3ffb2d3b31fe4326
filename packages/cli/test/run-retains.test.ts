import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScenarioResult } from '@relaylab/lab';
import { repo, run } from './run-cli';

// The command's own runner call, watched: what it keeps of each scenario once reported.
const returned: ScenarioResult[][] = [];
const reported: ScenarioResult[] = [];
jest.mock('@relaylab/lab', () => {
  const lab = jest.requireActual<typeof import('@relaylab/lab')>('@relaylab/lab');
  return {
    ...lab,
    runScenarios: async (...[scenarios, options]: Parameters<typeof lab.runScenarios>) => {
      const results = await lab.runScenarios(scenarios, { ...options, onResult: (r) => (reported.push(r), options.onResult?.(r)) });
      returned.push(results);
      return results;
    },
  };
});

test('run keeps no trace of a finished scenario: each is reported whole as it ends, then only its verdicts stay', async () => {
  const output = mkdtempSync(join(tmpdir(), 'relaylab-cli-retains-'));
  const files = ['partner-forced-tls-inbound.yaml', 'hybrid-onprem-to-cloud-internal.yaml'].map((f) => join(repo, 'scenarios', f));
  const r = await run(['run', ...files, '--certs', join(output, 'certs'), '--reporter', 'pretty,json', '--output', output, '--trace', join(output, 't.jsonl')]);
  expect(r.code).toBe(0);
  expect(reported).toHaveLength(2);
  expect(reported.every((x) => x.trace.length > 0)).toBe(true);
  // what the command held until the end: verdicts without traces
  expect(returned).toHaveLength(1);
  expect(returned[0]!.map((x) => x.trace.length)).toEqual([0, 0]);
  // and the reports still hold every event, written as each scenario ended
  const doc = JSON.parse(readFileSync(join(output, 'results.json'), 'utf8')) as { scenarios: Array<{ trace: unknown[] }> };
  const events = reported.reduce((n, x) => n + x.trace.length, 0);
  expect(doc.scenarios.reduce((n, s) => n + s.trace.length, 0)).toBe(events);
  expect(readFileSync(join(output, 't.jsonl'), 'utf8').trimEnd().split('\n')).toHaveLength(events);
}, 60_000);
