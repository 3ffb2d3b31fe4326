import { join } from 'node:path';
import { loadScenarioFile } from '@relaylab/lab';
import { formatResult, renderHtml, renderJson, renderJunit, type RunReport } from '@relaylab/report';
import { repo, runReport } from './run-once';

// On premises down 30 hours in one advance: every report must tell lab time (the bounce at 24 h)
// from real time (the few seconds the run took).
let run: RunReport;
beforeAll(async () => {
  const s = loadScenarioFile(join(repo, 'scenarios/hybrid-onprem-down-30-hours.yaml'));
  run = await runReport([{ ...s, expect: [{ ...s.expect[0]!, at: '23h' }] }]);
}, 60_000);

const LAB = /\+24h00m0\ds after submission, lab time (\d{4}-\d\d-\d\dT[\d:.]+Z), real time (\d{4}-\d\d-\d\dT[\d:.]+Z)/;

test('the pretty and JUnit reports give the bounce its lab time, from submission, and its real time', () => {
  const pretty = formatResult(run.results[0]!, false);
  const [, lab, real] = LAB.exec(pretty) ?? [];
  expect(lab).toBeDefined();
  // a day of lab time passed in a few seconds of real time
  expect(Date.parse(lab!) - Date.parse(real!)).toBeGreaterThan(23 * 3_600_000);
  expect(pretty).toMatch(/at:\n.*23h after submission \(within 1 minute\)\n.*\+24h00m0\ds/);
  expect(renderJunit(run)).toMatch(new RegExp(`<system-out>bounced: ${LAB.source}</system-out>`));
});

test('the JSON report keeps both times on every trace event and on the fate', () => {
  const doc = JSON.parse(renderJson(run)) as {
    scenarios: Array<{ trace: Array<{ at: string; realAt?: string }>; fates: Array<{ fate: Record<string, string> }> }>;
  };
  const [scenario] = doc.scenarios;
  expect(scenario!.trace.every((e) => e.at && e.realAt)).toBe(true);
  expect(scenario!.fates[0]!.fate).toMatchObject({ state: 'bounced', at: expect.any(String), realAt: expect.any(String), submittedAt: expect.any(String) });
});

test('the HTML report shows each event at its lab time and its real time', () => {
  expect(renderHtml(run)).toMatch(/<span class="at"[^>]*>lab \d{4}-[^<]+ · real \d{4}-[^<]+<\/span>/);
});
