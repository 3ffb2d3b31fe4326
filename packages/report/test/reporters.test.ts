import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { TraceEvent } from '@relaylab/core';
import { createReporters, parseReporterNames, renderHtml, renderJson, renderJunit, type RunReport } from '@relaylab/report';
import { bundledScenarios, partnerWithWrongExpectations, runReport } from './run-once';

let failing: RunReport;
let bundled: RunReport;

beforeAll(async () => {
  failing = await runReport([partnerWithWrongExpectations()]);
  bundled = await runReport(bundledScenarios());
}, 90_000);

test('per-expectation verdicts add up to the runner’s own checks and failures, as the same objects', () => {
  for (const r of [...bundled.results, ...failing.results]) {
    const cases = r.expectations;
    expect({ scenario: r.scenario.name, checks: cases.reduce((n, c) => n + c.checks, 0), failures: cases.flatMap((c) => c.failures).length }).toEqual({
      scenario: r.scenario.name,
      checks: r.checks,
      failures: r.failures.length,
    });
  }
  const cases = failing.results[0].expectations;
  // one judgement: what a reporter lists per expectation is what the runner failed the scenario on
  for (const f of cases.flatMap((c) => c.failures)) expect(failing.results[0].failures).toContain(f);
  expect(cases.map((c) => [c.name, c.passed])).toEqual([
    ['good-cert → bob@contoso.example: delivered', false],
    ['wrong-cert → bob@contoso.example: delivered', false],
  ]);
  expect(cases[0].failures.map((f) => [f.field, f.expected, f.actual])).toEqual([['hops[0].tls', 'TLSv1.2', 'TLSv1.3']]);
});

test('JUnit XML has one test case per expectation, failures with the reason, and escapes what it must', () => {
  const xml = renderJunit(failing);
  expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="relaylab" tests="3" failures="2" errors="0"')).toBe(true);
  expect(xml).toContain('<testsuite name="partner &lt;wrong&gt; &amp; &quot;quoted&quot;" tests="3" failures="2"');
  expect(xml).toContain('name="good-cert → bob@contoso.example: delivered"');
  expect(xml).toContain('message="hops[0].tls: expected TLSv1.2, actual TLSv1.3"');
  expect(xml).toMatch(/message="state: expected delivered, actual rejected"/);
  // the failure text carries the story of the message: the refusal and its reason
  expect(xml).toMatch(/final: rejected at eop: 550 5\.7\.51/);
  expect(xml).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/);
  const all = renderJunit(bundled);
  const tests = Number(/<testsuites[^>]* tests="(\d+)"/.exec(all)![1]);
  expect(tests).toBe(bundled.results.reduce((n, r) => n + r.expectations.length + 1, 0));
  expect(all).toMatch(/<testsuites[^>]* failures="0" errors="0"/);
});

test('reporters render verdicts, they never judge or compose messages', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
  const offenders = files(join(__dirname, '../src')).filter((f) => /\b(checkExpectation|composeMessage|judge)\b/.test(readFileSync(f, 'utf8')));
  expect(offenders).toEqual([]);
});

test('the JSON report holds the whole run with every trace event', () => {
  const doc = JSON.parse(renderJson(failing));
  expect(doc.summary).toEqual({ scenarios: 1, passed: 0, failed: 1 });
  const s = doc.scenarios[0];
  expect(s.trace).toHaveLength(failing.results[0].trace.length);
  expect(s.trace.find((e: TraceEvent) => e.type === 'received')).toMatchObject({
    node: 'eop',
    connector: 'Inbound from Fabrikam',
    tracking: { eventId: 'RECEIVE', source: 'SMTP' },
  });
  expect(s.expectations[0]).toMatchObject({ name: 'good-cert → bob@contoso.example: delivered', passed: false });
  expect(s.fates[0].fate.hops[0]).toMatchObject({ from: 'fabrikam', to: 'eop', tls: 'TLSv1.3' });
});

test('the HTML report is one offline file with diagrams, verdict reasons and header diffs', () => {
  const html = renderHtml(failing);
  // nothing is fetched: no external scripts, styles, images or fonts
  expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
  expect(html).not.toMatch(/url\((?!#)/);
  expect(html).toContain('<svg class="topology"');
  expect(html).toContain('<svg class="sequence"');
  expect(html).toContain('Inbound from Fabrikam');
  // the refused message: the verdict and its reason, verbatim from the trace
  expect(html).toContain('550 5.7.51 TenantInboundAttribution');
  // eop added a Received field and says why
  expect(html).toMatch(/<tr class="diff-added"><td class="mark">\+<\/td><td class="hname">Received<\/td>/);
  expect(html).toContain('every hop records itself');
  expect(html).toContain('partner &lt;wrong&gt; &amp; &quot;quoted&quot;');
});

test('events the reporters do not know are still shown with all their fields', () => {
  const r = failing.results[0];
  const messageId = r.trace.find((e) => e.type === 'submitted')!;
  const future = {
    type: 'classified',
    at: messageId.at,
    node: 'eop',
    messageId: (messageId as { messageId: string }).messageId,
    verdict: 'Spam',
    scl: 9,
    details: { sfv: 'SPM' },
  };
  const html = renderHtml({ ...failing, results: [{ ...r, trace: [...r.trace, future as unknown as TraceEvent] }] });
  expect(html).toContain('<span class="type">classified</span>');
  expect(html).toMatch(/<th>verdict<\/th><td><span class="v">Spam<\/span>/);
  expect(html).toMatch(/<th>sfv<\/th><td><span class="v">SPM<\/span>/);
});

test('reporters are chosen by name, several at once; file reporters write under the output folder', () => {
  expect(parseReporterNames([])).toEqual(['pretty']);
  expect(parseReporterNames(['pretty,json', 'html', 'json'])).toEqual(['pretty', 'json', 'html']);
  expect(() => parseReporterNames(['xml'])).toThrow('unknown reporter "xml"; choose from pretty, json, junit, html');
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-report-out-'));
  const out = new PassThrough();
  let printed = '';
  out.on('data', (d) => (printed += d));
  const reporters = createReporters(['pretty', 'json', 'junit', 'html'], { outputDir: dir, out, color: false, live: false });
  for (const r of reporters) r.start?.(failing.results.map((x) => x.scenario));
  for (const r of reporters) failing.results.forEach((x) => r.result?.(x));
  const files = reporters.flatMap((r) => r.finish(failing));
  expect(files).toEqual([join(dir, 'results.json'), join(dir, 'junit.xml'), join(dir, 'index.html')]);
  expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).toContain('<testsuites');
  expect(printed).toMatch(/✗ FAIL partner <wrong>/);
  expect(printed).toMatch(/hops\[0\]\.tls:\n\s+expected: TLSv1\.2\n\s+actual:\s+TLSv1\.3/);
  expect(printed).toMatch(/path: fabrikam → eop/);
});

test('on a terminal, progress is one redrawn line that results replace', () => {
  const out = new PassThrough();
  let printed = '';
  out.on('data', (d) => (printed += d));
  const [pretty] = createReporters(['pretty'], { out, color: false, live: true });
  pretty.start?.([failing.results[0].scenario, bundled.results[0].scenario]);
  expect(printed).toBe('running: 0/2 done…');
  pretty.result?.(failing.results[0]);
  expect(printed).toMatch(/^running: 0\/2 done…\r\x1b\[K✗ FAIL [^]*\nrunning: 1\/2 done, 1 failed…$/);
  pretty.result?.(bundled.results[0]);
  pretty.finish(failing);
  expect(printed.endsWith('\n')).toBe(true);
});
