import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { freePortBase, repo, startRelaylab, type Running } from './process-spawn';
import { tool } from '../../mta/test/debian-tools';

// Debian's chromium with a fresh profile, as the HTML report's browser test runs it.
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
const ADDRESSES = ['127.0.0.10', '127.0.0.20', '127.0.0.30', '127.0.0.40', '127.0.0.50', '127.0.0.60', '127.0.0.61'];

let PORT: number;
let up: Running;
let origin: string;
let profile: string;
let context: BrowserContext;
let page: Page;
const dir = mkdtempSync(join(tmpdir(), 'relaylab-web-'));
const requests: string[] = [];
const pageErrors: string[] = [];

/** Retries `check` until it passes: the page updates on its own, from the lab's event stream. */
async function eventually(check: () => Promise<void>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
const text = async (l: Locator) => (await l.first().textContent({ timeout: 2000 })) ?? '';
const contains = (l: Locator, wanted: string, ms?: number) => eventually(async () => expect(await text(l)).toContain(wanted), ms);
const count = (l: Locator, n: number) => eventually(async () => expect(await l.count()).toBe(n));

const swaks = (...args: string[]) =>
  promisify(execFile)(tool('swaks'), ['--server', `127.0.0.10:${PORT}`, '--tls', '--timeout', '10', ...args], { encoding: 'utf8' });

beforeAll(async () => {
  const executablePath = tool('chromium');
  mkdirSync(ARTIFACTS, { recursive: true });
  PORT = await freePortBase(ADDRESSES, [0]);
  up = startRelaylab([
    'up',
    'scenarios/topologies/hybrid.yaml',
    '--out',
    join(dir, 'out'),
    '--port',
    String(PORT),
    '--certs',
    join(dir, 'certs'),
    '--web-port',
    '0',
  ]);
  const login = await up.waitFor(/^web: (http:\/\/127\.0\.0\.1:\d+\/login\?token=\S+)$/m, 40_000);
  await up.waitFor(/nodes ready; Ctrl-C stops the lab/);
  const url = login.slice('web: '.length);
  origin = new URL(url).origin;
  profile = mkdtempSync(join(tmpdir(), 'relaylab-chromium-'));
  context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: ARGS, viewport: { width: 1366, height: 768 } });
  page = await context.newPage();
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(url);
}, 90_000);

afterAll(async () => {
  await Promise.all([context?.close(), up?.stop()]);
  if (profile) rmSync(profile, { recursive: true, force: true });
}, 60_000);

test('the printed address logs the browser in and leaves the token out of the address bar', async () => {
  await eventually(async () => expect(page.url()).toBe(`${origin}/#messages`));
  await contains(page.locator('#status'), '● live');
});

test('mail sent with swaks appears live with where it is, its hops, TLS verdicts and classification', async () => {
  await swaks('--to', 'carol@contoso.example', '--from', 'someone@fabrikam.example', '--header', 'Subject: browser-test live');
  // no reload: the row arrives through the event stream
  const row = page.locator('#list tr.row', { hasText: 'browser-test live' });
  await contains(row, 'delivered');
  // keyboard: focus the row and open it with Enter
  await row.focus();
  await page.keyboard.press('Enter');
  const detail = page.locator('#detail');
  await eventually(async () => expect(await text(detail.locator('h2'))).toBe('browser-test live'));
  await contains(detail.locator('.where'), 'carol@contoso.example: in carol@contoso.example (Inbox) at eop');
  const seq = detail.locator('svg.sequence');
  await count(seq.locator('g.participant'), 2);
  expect(await seq.locator('g.participant').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-node')))).toEqual(['onprem', 'eop']);
  await contains(seq.locator('g.hop-verified').first(), 'certificate verified');
  const verdicts = detail.locator('ol.verdicts');
  await contains(verdicts, 'onprem → eop');
  await contains(verdicts, 'classification: AuthAs');
  expect(await detail.locator('details.header-step').count()).toBeGreaterThan(0);
  await contains(detail.locator('table.list'), 'DELIVER');
  await page.screenshot({ path: join(ARTIFACTS, 'web-message.png') });

  // the diagram's header badge opens that node's header diff, as in the report
  const lastStep = detail.locator('details.header-step').last();
  expect(await lastStep.getAttribute('open')).toBeNull();
  await seq.locator('a.header-link').last().click();
  await eventually(async () => expect(await lastStep.getAttribute('open')).not.toBeNull());
  await count(lastStep.locator('tr.diff-added', { hasText: /^\+Received/ }), 1);

  await detail.getByRole('button', { name: 'show raw message' }).click();
  await contains(detail.locator('pre.raw'), 'Subject: browser-test live');
});

test('the topology shows every node with its health, and taking a node down shows at once', async () => {
  await page.getByRole('tab', { name: 'Topology' }).click();
  const svg = page.locator('#topo svg.topology');
  await count(svg.locator('g.node'), 8);
  const row = page.locator('#topo tr[data-node="fabrikam"]');
  await contains(row, 'up');
  await row.getByRole('button', { name: 'take down' }).click();
  await eventually(async () => expect(await text(row.locator('td.health-down'))).toBe('down'));
  await eventually(async () => expect(await svg.locator('g.node[data-node="fabrikam"]').getAttribute('class')).toMatch(/node-down/));
  await page.screenshot({ path: join(ARTIFACTS, 'web-topology.png') });
  await row.getByRole('button', { name: 'bring up' }).click();
  await eventually(async () => expect(await text(row.locator('td.health-up'))).toBe('up'));
});

test('a message sent from the Actions form to a node that is down waits in a queue; Retry-Queue after up delivers it', async () => {
  await page.getByRole('tab', { name: 'Actions' }).click();
  await page.locator('#action-node').selectOption('eop');
  await page.getByRole('button', { name: 'Take down' }).click();
  await eventually(async () => expect(await text(page.locator('#flash'))).toBe('eop: taken down'));
  const form = page.locator('#send-form');
  await form.locator('select[name=node]').selectOption('onprem');
  await form.locator('input[name=subject]').fill('browser-test queued');
  await form.getByRole('button', { name: 'Send test message' }).click();
  await contains(page.locator('#flash'), 'submitted <');

  await page.getByRole('tab', { name: 'Queues' }).click();
  await page.locator('#node-pick').selectOption('onprem');
  const queue = page.locator('#queues section.queue').first();
  await contains(queue, 'Retry');
  await contains(queue.locator('table.kv'), 'LastError');
  await page.screenshot({ path: join(ARTIFACTS, 'web-queues.png') });

  await page.getByRole('tab', { name: 'Actions' }).click();
  await page.locator('#action-node').selectOption('eop');
  await page.getByRole('button', { name: 'Bring up' }).click();
  await page.getByRole('tab', { name: 'Queues' }).click();
  await page.getByRole('button', { name: 'Retry-Queue' }).first().click();
  await contains(page.locator('#queues'), 'has no messages queued');
});

test('a fault switched on from the Actions tab shows as faulted health until healed', async () => {
  await page.getByRole('tab', { name: 'Actions' }).click();
  const form = page.locator('fieldset', { hasText: 'Faults' });
  await form.locator('select[name=node]').selectOption('fabrikam');
  await form.locator('select[name=fault]').selectOption('break the TLS handshake after STARTTLS');
  await form.getByRole('button', { name: 'Switch on' }).click();
  await contains(page.locator('#flash'), 'now faulted');
  await contains(page.locator('#status'), 'fabrikam faulted');
  await form.locator('select[name=fault]').selectOption('heal (every fault off)');
  await form.getByRole('button', { name: 'Switch on' }).click();
  await contains(page.locator('#flash'), 'now up');
});

test('message tracking filters by sender and shows Exchange EventIds', async () => {
  await page.getByRole('tab', { name: 'Message tracking' }).click();
  await page.locator('#tracking-filter input[name=sender]').fill('someone@fabrikam.example');
  await page.getByRole('button', { name: 'Get-MessageTrackingLog' }).click();
  const table = page.locator('#tracking table.list');
  // the unfiltered table is there until the filtered one replaces it
  await eventually(async () =>
    expect(new Set(await table.locator('tbody tr td:nth-child(2)').allTextContents())).toEqual(new Set(['RECEIVE', 'RESOLVE', 'SEND', 'DELIVER'])),
  );
  expect(await text(table)).not.toContain('browser-test queued');
});

test('the mailbox view lists folders like a mail catcher', async () => {
  await page.getByRole('tab', { name: 'Mailboxes' }).click();
  await page.locator('#node-pick').selectOption('eop');
  const carol = page.locator('#boxes section.mailbox', { has: page.locator('h3', { hasText: /^carol@contoso\.example$/ }) });
  await eventually(async () => expect(await carol.locator('summary').allTextContents()).toEqual([expect.stringMatching(/^Inbox \(\d+\)$/), 'Junk Email (0)']));
  await contains(carol, 'browser-test live');
});

test('a screenshot of the live view at 1366×768 is kept for CI', async () => {
  await page.getByRole('tab', { name: 'Messages' }).click();
  await page.locator('#list tr.row', { hasText: 'browser-test live' }).click();
  await page.locator('#detail svg.sequence').waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'web-view.png') });
});

test('many messages are paged, newest first, and the keyboard turns the pages', async () => {
  const token = readFileSync(join(dir, 'certs', 'control-token'), 'utf8').trim();
  const send = (i: number) =>
    fetch(`${origin}/api/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ node: 'onprem', from: 'alice@contoso.example', to: ['carol@contoso.example'], subject: `bulk ${i}` }),
    });
  for (let i = 0; i < 60; i++) expect((await send(i)).status).toBe(202);
  await page.getByRole('tab', { name: 'Messages' }).click();
  const pager = page.locator('#list .pager');
  await contains(pager, '1–50 of 6'); // 60 and the ones before
  await count(page.locator('#list tr.row'), 50);
  await contains(page.locator('#list tr.row').first(), 'bulk 59');
  await page.locator('#list tr.row').first().focus();
  await page.keyboard.press('n');
  await contains(pager, '51–');
  await eventually(async () => expect(await text(page.locator('#list tr.row'))).not.toContain('bulk 59'));
  await page.keyboard.press('p');
  await contains(pager, '1–50 of');
});

test('the page loaded nothing but its own origin and ran without script errors', () => {
  expect(requests.filter((r) => !r.startsWith(`${origin}/`))).toEqual([]);
  expect(pageErrors).toEqual([]);
});
