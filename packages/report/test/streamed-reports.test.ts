import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarioFile } from '@relaylab/lab';
import {
  FileReporter,
  HTML_FORMAT,
  JSON_FORMAT,
  JUNIT_FORMAT,
  renderHtml,
  renderJson,
  renderJunit,
  TRACE_LINES_FORMAT,
  renderWhole,
  type RunReport,
  type StreamedFormat,
} from '@relaylab/report';
import { partnerWithWrongExpectations, repo, runReport } from './run-once';

let run: RunReport;

beforeAll(async () => {
  const file = (name: string) => loadScenarioFile(join(repo, 'scenarios', name));
  run = await runReport([file('hybrid-onprem-to-cloud-internal.yaml'), partnerWithWrongExpectations(), file('outbound-tls-opportunistic.yaml')]);
}, 60_000);

const spools = () => readdirSync(tmpdir()).filter((f) => /^relaylab-report-(?!certs)/.test(f));

test.each([
  ['json', JSON_FORMAT, renderJson],
  ['junit', JUNIT_FORMAT, renderJunit],
  ['html', HTML_FORMAT, renderHtml],
] as const)('%s written a scenario at a time, in the order they end, is the same bytes as rendered whole', (name, format, renderAll) => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-streamed-'));
  const before = spools();
  const reporter = new FileReporter<unknown>(name, join(dir, 'nested', name), format, true);
  reporter.start(
    run.results.map((r) => r.scenario),
    run.startedAt,
  );
  // side by side, scenarios end out of order: the last first
  for (const r of [...run.results].reverse()) reporter.result(r);
  expect(reporter.finish({ startedAt: run.startedAt, durationMs: run.durationMs })).toEqual([join(dir, 'nested', name)]);
  const written = readFileSync(join(dir, 'nested', name), 'utf8');
  expect(written).toBe(renderAll(run));
  expect(written.length).toBeGreaterThan(1000);
  // the spool is gone once the file is written
  expect(spools()).toEqual(before);
});

test('an empty run renders the same document streamed and whole, and the JSON stays valid', () => {
  const empty = { startedAt: run.startedAt, durationMs: 0, results: [] };
  for (const format of [JSON_FORMAT, JUNIT_FORMAT, HTML_FORMAT] as Array<StreamedFormat<unknown>>) {
    const dir = mkdtempSync(join(tmpdir(), 'relaylab-streamed-'));
    const reporter = new FileReporter<unknown>('x', join(dir, 'x'), format);
    reporter.start([], run.startedAt);
    reporter.finish(empty);
    expect(readFileSync(join(dir, 'x'), 'utf8')).toBe(renderWhole(format, empty));
  }
  expect(JSON.parse(renderJson(empty))).toMatchObject({ summary: { scenarios: 0 }, scenarios: [] });
});

test('--trace lines are every event of every scenario in scenario order, each with its scenario and tracking row', () => {
  const lines = renderWhole(TRACE_LINES_FORMAT, run).trimEnd().split('\n');
  expect(lines).toHaveLength(run.results.reduce((n, r) => n + r.trace.length, 0));
  const first = JSON.parse(lines[0]!) as { scenario: string; tracking: unknown };
  expect(first.scenario).toBe(run.results[0]!.scenario.name);
  expect(first.tracking).toBeDefined();
  expect((JSON.parse(lines.at(-1)!) as { scenario: string }).scenario).toBe(run.results.at(-1)!.scenario.name);
});

test('a report whose folder cannot be made says why at the end, and leaves no spool behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-streamed-'));
  const before = spools();
  const reporter = new FileReporter<unknown>('json', join(dir, 'missing', 'results.json'), JSON_FORMAT);
  reporter.start(run.results.map((r) => r.scenario));
  for (const r of run.results) reporter.result(r);
  expect(() => reporter.finish(run)).toThrow(/ENOENT/);
  expect(spools()).toEqual(before);
});

test('a scenario’s part comes in pieces (an event, a message at a time), so a scenario of many messages is never one string', () => {
  const r = run.results[0]!;
  const pieces = (format: StreamedFormat<unknown>) => [...(format.part(r, run.startedAt).text as Iterable<string>)];
  expect(pieces(JSON_FORMAT as StreamedFormat<unknown>).length).toBe(r.trace.length + 2);
  expect(pieces(HTML_FORMAT as StreamedFormat<unknown>).length).toBe(r.fates.length + 2);
  expect(pieces(TRACE_LINES_FORMAT as StreamedFormat<unknown>).length).toBe(r.trace.length);
});

test('a reporter handed the whole run at the end, having heard no scenario, writes the same file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-streamed-'));
  for (const [file, format, renderAll] of [
    ['results.json', JSON_FORMAT, renderJson],
    ['junit.xml', JUNIT_FORMAT, renderJunit],
  ] as const) {
    const reporter = new FileReporter<unknown>('x', join(dir, file), format as StreamedFormat<unknown>);
    reporter.finish(run);
    expect(readFileSync(join(dir, file), 'utf8')).toBe(renderAll(run));
  }
});
