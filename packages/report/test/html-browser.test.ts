import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createReporters, type RunReport } from '@relaylab/report';
import { bundledScenarios, repo, runReport } from './run-once';
import { tool } from '../../mta/test/debian-tools';

// Debian's chromium, with a fresh profile so nothing from another run leaks in.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** CI keeps this folder (git-ignored) as an artifact. */
const ARTIFACTS = join(repo, 'artifacts');

let run: RunReport;
let dir: string;
let profile: string;
let context: BrowserContext;
let page: Page;
const requests: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  const executablePath = tool('chromium'); // before the run, so a missing browser fails at once
  run = await runReport(bundledScenarios());
  dir = mkdtempSync(join(tmpdir(), 'relaylab-html-'));
  createReporters(['html', 'junit'], { outputDir: dir, out: process.stdout, color: false, live: false }).forEach((r) => r.finish(run));
  profile = mkdtempSync(join(tmpdir(), 'relaylab-chromium-'));
  context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: ARGS, viewport: { width: 1400, height: 1000 } });
  page = await context.newPage();
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(pathToFileURL(join(dir, 'index.html')).href);
}, 120_000);

afterAll(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('the page loads nothing but itself and runs without script errors', () => {
  expect(requests).toEqual([pathToFileURL(join(dir, 'index.html')).href]);
  expect(pageErrors).toEqual([]);
});

test('every scenario has a rendered topology diagram naming its nodes', async () => {
  const diagrams = await page.$$eval('svg.topology', (svgs) =>
    svgs.map((svg) => ({
      width: (svg as unknown as { getBBox(): { width: number } }).getBBox().width,
      nodes: Array.from(svg.querySelectorAll('g.node'), (g) => (g as { getAttribute(name: string): string | null }).getAttribute('data-node')),
      text: svg.textContent,
    })),
  );
  expect(diagrams).toHaveLength(run.results.length);
  const partner = run.results.findIndex((r) => r.scenario.name === 'partner-forced-tls-inbound');
  expect(diagrams[partner].nodes).toEqual(['eop', 'fabrikam', 'fabrikam-other']);
  expect(diagrams[partner].text).toContain('mail.fabrikam.example');
  expect(diagrams.every((d) => d.width > 100)).toBe(true);
});

test('each message has a sequence diagram with its hops, TLS and certificate name', async () => {
  const seq = page.locator('#s--partner-forced-tls-inbound--good-cert--bob-contoso-example svg.sequence');
  await expect(seq.locator('g.participant').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-node')))).resolves.toEqual(['fabrikam', 'eop']);
  const box = await seq.locator('g.hop-verified line').boundingBox();
  expect(box!.width).toBeGreaterThan(100);
  expect(await seq.locator('g.hop-verified').textContent()).toContain('TLSv1.3 · certificate verified');
  const domain = page.locator('svg.sequence g.hop-verified text.hop-label', { hasText: 'certificate verified for' }).first();
  expect(await domain.isVisible()).toBe(true);
  const refused = page.locator('#s--partner-forced-tls-inbound--wrong-cert--bob-contoso-example svg.sequence');
  expect(await refused.locator('g.hop-failed').count()).toBeGreaterThan(0);
  expect(await refused.locator('g.verdict').textContent()).toContain('rejected: 550 5.7.51');
});

test('a header diff expands from its summary and from the diagram’s badge, showing what the node added', async () => {
  const message = page.locator('#s--partner-forced-tls-inbound--good-cert--bob-contoso-example');
  const step = message.locator('details.header-step', { hasText: 'at eop' });
  const added = step.locator('tr.diff-added', { hasText: 'Received' }).first();
  expect(await added.isVisible()).toBe(false);
  await step.locator('summary').click();
  expect(await added.isVisible()).toBe(true);
  expect(await added.textContent()).toContain('every hop records itself');
  await page.screenshot({ path: join(ARTIFACTS, 'report-header-diff.png') });

  await step.locator('summary').click(); // closed again; the diagram's badge must open it
  expect(await added.isVisible()).toBe(false);
  await message.locator('svg.sequence a.header-link').last().click();
  expect(await added.isVisible()).toBe(true);
});

test('the JUnit file beside it is well-formed XML', async () => {
  const junit = await context.newPage();
  await junit.goto(pathToFileURL(join(dir, 'junit.xml')).href);
  // Chromium parses a .xml file as an XML document; a syntax error shows up as <parsererror>
  const xml = await junit.evaluate(() => {
    // runs in the browser; the test compiles without the DOM library, so the document is typed here
    const doc = (
      globalThis as unknown as {
        document: { querySelector(s: string): { textContent: string | null } | null; getElementsByTagName(s: string): { length: number } };
      }
    ).document;
    return { error: doc.querySelector('parsererror')?.textContent ?? null, cases: doc.getElementsByTagName('testcase').length };
  });
  expect(xml.error).toBeNull();
  expect(xml.cases).toBeGreaterThan(run.results.length);
  await junit.close();
});

test('a screenshot of the report is kept for CI', async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, 'report.png');
  await page.locator('#s--onprem-to-cloud-forced-tls').evaluate((section) => section.scrollIntoView());
  await page.screenshot({ path: file, fullPage: false });
  expect(statSync(file).size).toBeGreaterThan(10_000);
});
