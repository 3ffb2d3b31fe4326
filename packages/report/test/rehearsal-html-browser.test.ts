import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { loadPlanFile, rehearse, type RehearsalResult } from '@relaylab/lab';
import { renderRehearsalHtml } from '@relaylab/report';
import { tool } from '../../mta/test/debian-tools';

/** The rehearsal report in Debian's chromium: charts per direction, changes marked, a click to the messages. */

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
const plans = resolve(__dirname, '../../../scenarios/plans');

let result: RehearsalResult;
let file: string;
let profile: string;
let context: BrowserContext;
let page: Page;
const requests: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  const executablePath = tool('chromium');
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-rehearsal-html-'));
  result = await rehearse(loadPlanFile(join(plans, 'hybrid-connectors-updated-before-cert.yaml')), { certsDir: join(dir, 'certs'), keepTrace: true });
  file = join(dir, 'rehearsal.html');
  writeFileSync(file, renderRehearsalHtml(result));
  profile = mkdtempSync(join(tmpdir(), 'relaylab-chromium-'));
  context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: ARGS, viewport: { width: 1200, height: 1000 } });
  page = await context.newPage();
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(pathToFileURL(file).href);
}, 120_000);

afterAll(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('the page loads nothing but itself and runs without script errors', () => {
  expect(requests).toEqual([pathToFileURL(file).href]);
  expect(pageErrors).toEqual([]);
});

test('one chart per direction, a bar per five-minute slice, the changes marked where they were made', async () => {
  const charts = await page.$$eval('svg.over-time', (svgs) =>
    svgs.map((svg) => ({
      direction: svg.getAttribute('data-direction'),
      buckets: svg.querySelectorAll('g.bucket').length,
      changes: Array.from(svg.querySelectorAll('g.change text'), (t) => (t as { textContent: string | null }).textContent),
      checkpoints: svg.querySelectorAll('g.checkpoint.held').length,
    })),
  );
  expect(charts.map((c) => c.direction)).toEqual(['onprem-to-cloud', 'cloud-to-onprem', 'internet-to-cloud']);
  for (const c of charts) expect(c).toMatchObject({ buckets: 72, changes: ['1,2', '3'], checkpoints: 4 });
  // the slices that hold mail (every 10 minutes); between the connector change and the certificate: cloud → on premises waits, on premises → cloud is reclassified
  const colours = async (direction: string) =>
    page.$$eval(`svg.over-time[data-direction="${direction}"] g.bucket`, (gs) =>
      gs
        .map((g) =>
          Array.from(g.querySelectorAll('rect.bar'), (r) =>
            (r as { getAttribute(name: string): string | null }).getAttribute('class')!.replace('bar bar-', ''),
          ).join('+'),
        )
        .filter(Boolean),
    );
  expect((await colours('cloud-to-onprem')).slice(11, 16)).toEqual(['delivered', 'deferred', 'deferred', 'deferred', 'delivered']);
  expect((await colours('onprem-to-cloud')).slice(11, 16)).toEqual(['delivered', 'reclassified', 'reclassified', 'reclassified', 'delivered']);
});

test('a click on a bar lists its messages; each opens to its hop diagram with the deferral in it', async () => {
  const chart = page.locator('svg.over-time[data-direction="cloud-to-onprem"]');
  expect(await page.locator('.panel.open').count()).toBe(0);
  await chart.locator('g.bucket').nth(24).click();
  const panel = page.locator('.panel.open');
  expect(await panel.count()).toBe(1);
  expect(await panel.locator('h4').textContent()).toBe('cloud-to-onprem, sent 2h–2h05m');
  const message = panel.locator('details.message').first();
  expect(await message.locator('summary').textContent()).toContain('<cloud-to-onprem-12@rehearsal.relaylab> sent at 2h');
  await message.locator('summary').click();
  const seq = message.locator('svg.sequence');
  expect(await seq.isVisible()).toBe(true);
  await expect(seq.locator('g.participant').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-node')))).resolves.toEqual(['eop', 'onprem']);
  expect(await seq.locator('g.hop-failed').count()).toBeGreaterThan(0);
  expect(await seq.locator('g.hop-failed').first().textContent()).toContain('do not match TlsDomain mail2.contoso.example');
  expect(await seq.locator('g.verdict').textContent()).toContain('delivered');
  // another bar of the same chart replaces the panel
  await chart.locator('g.bucket').nth(0).click();
  expect(await page.locator('.panel.open h4').textContent()).toBe('cloud-to-onprem, sent 0s–5m');
});
