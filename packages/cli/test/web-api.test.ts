import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Lab, loadTopologyFile, ObservedTrace } from '@relaylab/lab';
import { LabView } from '../src/web/lab-view';
import { openApiDocument } from '../src/web/openapi';
import { WebServer } from '../src/web/server';
import { run } from './run-cli';

const TOKEN = 'web-api-test-token-0123456789abcdefghijklmnop';
let lab: Lab;
let web: WebServer;
let port: number;

beforeAll(async () => {
  const trace = new ObservedTrace();
  lab = await Lab.start(loadTopologyFile(resolve(__dirname, '../../../scenarios/topologies/hybrid.yaml')), {
    certsDir: mkdtempSync(join(tmpdir(), 'relaylab-web-api-')),
    trace,
  });
  web = new WebServer(new LabView(lab, trace), TOKEN);
  await web.listen(0, '127.0.0.1');
  port = Number(new URL(web.origin).port);
}, 60_000);

afterAll(async () => {
  await web?.close();
  await lab?.stop();
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A raw HTTP request, so the test controls every header (Host, Origin, Content-Type). */
function call(method: string, path: string, o: { body?: string | object; headers?: Record<string, string>; auth?: boolean } = {}): Promise<Reply> {
  const data = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  const headers: Record<string, string> = {
    host: `127.0.0.1:${port}`,
    ...(o.auth !== false && { authorization: `Bearer ${TOKEN}` }),
    ...(data !== undefined && { 'content-type': 'application/json' }),
    ...o.headers,
  };
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        done({ status: res.statusCode!, headers: res.headers, text, json: () => JSON.parse(text) });
      });
    });
    req.on('error', fail);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

const until = async (check: () => Promise<boolean>, ms = 15_000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met in time');
};

test('the API document is a valid OpenAPI 3.1 document, and the server serves it', async () => {
  const served = await call('GET', '/api/openapi.json');
  expect(served.status).toBe(200);
  expect(served.json()).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
  // validate() throws, naming each place, when the document breaks the OpenAPI 3.1 schema
  const api = (await SwaggerParser.validate(structuredClone(served.json()))) as { openapi?: string };
  expect(api.openapi).toBe('3.1.0');
});

test('every GET path the document lists is served', async () => {
  const sent = await call('POST', '/api/messages', { body: { node: 'onprem', from: 'alice@contoso.example', to: ['carol@contoso.example'] } });
  const id = sent.json().messageId as string;
  await until(async () => (await call('GET', `/api/messages/${encodeURIComponent(id)}`)).json().summary.states[0].state === 'delivered');
  const paths = Object.entries(openApiDocument().paths).filter(([, ops]) => 'get' in ops);
  for (const [path] of paths) {
    if (path === '/login' || path === '/api/events') continue; // the redirect and the stream have tests of their own
    const concrete = path.replace('{node}', 'eop').replace('{messageId}', encodeURIComponent(id));
    const reply = await call('GET', concrete);
    expect([path, reply.status]).toEqual([path, 200]);
  }
});

test('refused: no token, a wrong token, another Host, another site, a form post, a large body, an unknown field', async () => {
  expect((await call('GET', '/api/lab', { auth: false })).status).toBe(401);
  expect((await call('GET', '/api/lab', { auth: false, headers: { authorization: 'Bearer wrong-token' } })).status).toBe(401);
  expect((await call('GET', '/api/lab', { headers: { host: `rebound.example:${port}` } })).status).toBe(403);
  expect((await call('GET', '/api/lab', { headers: { origin: 'http://evil.example' } })).status).toBe(403);
  expect((await call('GET', '/api/lab', { headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
  const form = await call('POST', '/api/clock/advance', { body: 'ms=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  expect(form.status).toBe(415);
  const large = await call('POST', '/api/messages', { body: { node: 'onprem', from: 'a@b.example', to: ['c@d.example'], body: 'x'.repeat(70_000) } });
  expect(large.status).toBe(413);
  const typo = await call('POST', '/api/clock/advance', { body: { millis: 5 } });
  expect(typo.status).toBe(400);
  expect(typo.json().error).toMatch(/unknown field "millis"/);
  const badTo = await call('POST', '/api/messages', {
    body: { node: 'onprem', from: 'alice@contoso.example', to: ['carol@contoso.example\r\nRCPT TO:<x@y>'] },
  });
  expect(badTo.status).toBe(400);
  expect((await call('POST', '/api/nodes/nosuch/down', { body: {} })).status).toBe(404);
  expect((await call('GET', '/api/tracking?colour=blue')).status).toBe(400);
  expect((await call('GET', '/api/messages?limit=100000')).status).toBe(400);
});

test('the login address sets a session cookie that then opens the API; a wrong token does not', async () => {
  expect((await call('GET', '/login?token=nope', { auth: false })).status).toBe(401);
  const login = await call('GET', `/login?token=${TOKEN}`, { auth: false, headers: { 'sec-fetch-site': 'none' } });
  expect(login.status).toBe(303);
  expect(login.headers.location).toBe('/');
  const cookie = String(login.headers['set-cookie']);
  expect(cookie).toMatch(/HttpOnly/);
  expect(cookie).toMatch(/SameSite=Strict/);
  const session = cookie.split(';')[0]!;
  expect((await call('GET', '/api/lab', { auth: false, headers: { cookie: session } })).status).toBe(200);
  expect((await call('GET', '/api/lab', { auth: false, headers: { cookie: 'relaylab_session=forged' } })).status).toBe(401);
  const page = await call('GET', '/', { auth: false, headers: { cookie: session } });
  expect(page.headers['content-security-policy']).toMatch(/default-src 'none'/);
  expect(page.text).toContain('<script src="/app.js"');
});

test('a message sent through the API shows its hops with TLS, certificate and classification, and tracking rows', async () => {
  const sent = await call('POST', '/api/messages', {
    body: { node: 'onprem', from: 'alice@contoso.example', to: ['carol@contoso.example'], subject: 'api hop test' },
  });
  expect(sent.status).toBe(202);
  const id = sent.json().messageId as string;
  const path = `/api/messages/${encodeURIComponent(id)}`;
  await until(async () => (await call('GET', path)).json().summary.states[0].state === 'delivered');
  const m = (await call('GET', path)).json();
  expect(m.summary).toMatchObject({ subject: 'api hop test', from: 'alice@contoso.example', firstNode: 'onprem' });
  expect(m.summary.states).toEqual([{ recipient: 'carol@contoso.example', state: 'delivered', node: 'eop', messageTraceStatus: 'Delivered' }]);
  expect(m.summary.now).toMatch(/carol@contoso\.example: in carol@contoso\.example \(Inbox\) at eop/);
  const hop = m.recipients[0].fate.hops[0];
  expect(hop).toMatchObject({ from: 'onprem', to: 'eop', certificateVerified: true, inboundConnector: 'Inbound from on-premises' });
  expect(hop.tls).toMatch(/^TLSv1\.[23]$/);
  expect(hop.classification.authAs).toBeDefined();
  expect(m.html).toContain('class="sequence"');
  // eop stamps its own headers on arrival (the cross-premises ones, for one), each with a reason
  const eopChanges = m.recipients[0].headerChanges.find((c: { node: string }) => c.node === 'eop');
  expect(eopChanges.changes.length).toBeGreaterThan(0);
  expect(eopChanges.changes.every((c: { reason?: string }) => typeof c.reason === 'string' && c.reason.length > 0)).toBe(true);
  // in trace order; onprem records its SEND when eop's 250 came back, which may be after eop delivered
  const rows = m.tracking.map((r: { eventId: string; server: string }) => `${r.eventId} ${r.server}`);
  expect([...rows].sort()).toEqual(['DELIVER eop', 'RECEIVE eop', 'RECEIVE onprem', 'RESOLVE onprem', 'SEND onprem']);
  expect(rows[0]).toBe('RECEIVE onprem');

  const raw = await call('GET', `${path}/raw?download=1`);
  expect(raw.headers['content-type']).toBe('message/rfc822');
  expect(raw.headers['content-disposition']).toMatch(/^attachment; filename=".+\.eml"$/);
  expect(raw.text).toMatch(/^Subject: api hop test$/m);

  const tracking = (await call('GET', `/api/tracking?messageId=${encodeURIComponent(id)}&eventId=DELIVER`)).json();
  expect(tracking.rows).toHaveLength(1);
  expect(tracking.rows[0]).toMatchObject({ server: 'eop', recipients: ['carol@contoso.mail.onmicrosoft.example'], sender: 'alice@contoso.example' });
  const bySender = (await call('GET', '/api/tracking?sender=nobody-sent-this')).json();
  expect(bySender.total).toBe(0);

  const boxes = (await call('GET', '/api/nodes/eop/mailboxes')).json();
  const carol = boxes.mailboxes.find((b: { address: string }) => b.address === 'carol@contoso.example');
  expect(carol.folders.map((f: { name: string }) => f.name)).toEqual(['Inbox', 'Junk Email']);
  expect(carol.folders[0].messages.some((x: { subject: string }) => x.subject === 'api hop test')).toBe(true);
});

test('spam lands in Junk Email: the mailbox folder holds it and the message trace says FilteredAsSpam', async () => {
  const gtube = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';
  const sent = await call('POST', '/api/messages', {
    body: { node: 'tailspin', from: 'tom@tailspin.example', to: ['carol@contoso.example'], subject: 'gtube', body: gtube },
  });
  const id = sent.json().messageId as string;
  await until(async () => (await call('GET', `/api/messages/${encodeURIComponent(id)}`)).json().summary.states[0].state === 'delivered');
  const m = (await call('GET', `/api/messages/${encodeURIComponent(id)}`)).json();
  expect(m.summary.states[0].messageTraceStatus).toBe('FilteredAsSpam');
  expect(m.recipients[0].fate.hops[0].classification.antispam).toMatchObject({ sfv: 'SPM' });
  const carol = (await call('GET', '/api/nodes/eop/mailboxes')).json().mailboxes.find((b: { address: string }) => b.address === 'carol@contoso.example');
  const junk = carol.folders.find((f: { name: string }) => f.name === 'Junk Email');
  expect(junk.messages.map((x: { messageId: string }) => x.messageId)).toContain(id);
});

test('with the next hop down the message waits in a queue (Retry, LastError); after up, Retry-Queue delivers it at once', async () => {
  expect((await call('POST', '/api/nodes/eop/down', { body: {} })).json()).toEqual({ health: 'down' });
  const id = (
    await call('POST', '/api/messages', { body: { node: 'onprem', from: 'alice@contoso.example', to: ['carol@contoso.example'], subject: 'queued' } })
  ).json().messageId as string;
  let queue: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  await until(async () => {
    queue = (await call('GET', '/api/nodes/onprem/queues'))
      .json()
      .queues.find((q: { messages: Array<{ messageId: string }> }) => q.messages.some((x) => x.messageId === id));
    return queue?.status === 'Retry';
  });
  expect(queue).toMatchObject({
    identity: expect.stringMatching(/^onprem\\/),
    nextHopDomain: 'contoso.mail.onmicrosoft.example',
    messageCount: 1,
    lastError: expect.stringMatching(/^4/),
  });
  expect(Date.parse(queue.nextRetryTime)).toBeGreaterThan(lab.clock.now().getTime());
  expect((await call('GET', `/api/messages/${encodeURIComponent(id)}`)).json().summary.now).toMatch(/queued at onprem/);

  expect((await call('POST', '/api/nodes/eop/up', { body: {} })).json()).toEqual({ health: 'up' });
  const retried = await call('POST', '/api/nodes/onprem/queues/retry', { body: { nextHop: queue.nextHop } });
  expect(retried.json()).toEqual({ retried: 1 });
  // without moving the lab clock: Retry-Queue made it due now
  await until(async () => (await call('GET', `/api/messages/${encodeURIComponent(id)}`)).json().summary.states[0].state === 'delivered');
});

test('advancing the clock moves lab time; a fault shows as faulted health until healed', async () => {
  const before = lab.clock.now().getTime();
  const moved = (await call('POST', '/api/clock/advance', { body: { duration: '2h' } })).json();
  expect(Date.parse(moved.now) - before).toBeGreaterThanOrEqual(7_200_000);
  expect((await call('POST', '/api/clock/advance', { body: { duration: 'soon' } })).status).toBe(400);
  expect((await call('POST', '/api/nodes/fabrikam/faults', { body: { fault: 'fail', command: 'RCPT', reply: '451 4.3.2 try later' } })).json()).toEqual({
    health: 'faulted',
  });
  const lab1 = (await call('GET', '/api/lab')).json();
  expect(lab1.nodes.find((n: { name: string }) => n.name === 'fabrikam').health).toBe('faulted');
  expect((await call('POST', '/api/nodes/fabrikam/faults', { body: { fault: 'heal' } })).json()).toEqual({ health: 'up' });
});

test('the event stream sends one trace event per trace event, live', async () => {
  const events: string[] = [];
  await new Promise<void>((done, fail) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/events', headers: { host: `127.0.0.1:${port}`, authorization: `Bearer ${TOKEN}` } }, (res) => {
      expect(res.headers['content-type']).toBe('text/event-stream');
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        events.push(...chunk.split('\n').filter((l) => l.startsWith('data: ')));
        if (events.some((e) => e.includes('"type":"delivered"')) && events.some((e) => e.includes('"type":"attempt"'))) {
          req.destroy();
          done();
        }
      });
      void call('POST', '/api/messages', { body: { node: 'onprem', from: 'alice@contoso.example', to: ['carol@contoso.example'] } });
    });
    req.on('error', (e) => (events.length ? undefined : fail(e)));
    req.end();
  });
  expect(events.map((e) => JSON.parse(e.slice(6)).type)).toEqual(expect.arrayContaining(['submitted', 'attempt', 'received', 'delivered']));
});

test('states by Message-ID, many at once: the nodes that took each and when, per recipient its state, the queue holding it; stats of the lab process', async () => {
  const send = async (to: string) =>
    (await call('POST', '/api/messages', { body: { node: 'onprem', from: 'alice@contoso.example', to: [to] } })).json().messageId as string;
  const delivered = await send('carol@contoso.example');
  const states = async (ids: string[]) => (await call('POST', '/api/messages/states', { body: { messageIds: ids } })).json().messages;
  await until(async () => (await states([delivered]))[0].states[0].state === 'delivered');
  await call('POST', '/api/nodes/eop/down', { body: {} });
  // the next hop is down: the message waits in onprem's queue
  const waiting = await send('carol@contoso.example');
  await until(async () => (await states([waiting]))[0].queuedAt.length === 1);
  const [a, b, c] = await states([delivered, waiting, '<never@seen>']);
  expect(a).toMatchObject({
    messageId: delivered,
    known: true,
    states: [{ recipient: 'carol@contoso.example', state: 'delivered', node: 'eop' }],
    queuedAt: [],
  });
  expect(a.hops.map((h: { node: string; type: string }) => [h.node, h.type])).toEqual([
    ['onprem', 'submitted'],
    ['eop', 'received'],
  ]);
  for (const h of a.hops) expect(Date.parse(h.realAt)).toBeGreaterThan(0);
  expect(b).toMatchObject({ messageId: waiting, known: true, queuedAt: ['onprem'] });
  expect(c).toEqual({ messageId: '<never@seen>', known: false, hops: [], states: [], queuedAt: [] });
  const stats = (await call('GET', '/api/stats')).json();
  expect(stats).toMatchObject({ pid: process.pid, queued: { onprem: 1, eop: 0 } });
  expect(stats.rssBytes).toBeGreaterThan(20 * 1024 * 1024);
  await call('POST', '/api/nodes/eop/up', { body: {} });
  await call('POST', '/api/nodes/onprem/queues/retry', { body: {} });
  await until(async () => (await states([waiting]))[0].states[0].state === 'delivered');

  const tooMany = await call('POST', '/api/messages/states', { body: { messageIds: Array.from({ length: 501 }, (_, i) => `<${i}@x>`) } });
  expect([tooMany.status, tooMany.json().error]).toEqual([400, expect.stringMatching(/^messageIds: expected a list of 1 to 500 Message-IDs/)]);
  expect((await call('POST', '/api/messages/states', { body: { ids: [delivered] } })).status).toBe(400);
});

test('the event stream stamps each event with the lab’s monotonic time, and names who refused a rejected message', async () => {
  const data: Array<{ type: string; t: number; by?: string; messageId?: string }> = [];
  await new Promise<void>((done, fail) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/events', headers: { host: `127.0.0.1:${port}`, authorization: `Bearer ${TOKEN}` } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        data.push(...chunk.split('\n').flatMap((l) => (l.startsWith('data: ') ? [JSON.parse(l.slice(6))] : [])));
        if (data.some((e) => e.type === 'rejected')) {
          req.destroy();
          done();
        }
      });
      // EOP refuses the unknown recipient at RCPT TO: onprem records the rejection, by eop
      void call('POST', '/api/messages', { body: { node: 'onprem', from: 'alice@contoso.example', to: ['nobody@contoso.mail.onmicrosoft.example'] } });
    });
    req.on('error', (e) => (data.length ? undefined : fail(e)));
    req.end();
  });
  const times = data.map((e) => e.t);
  expect(times.every((t, i) => typeof t === 'number' && (i === 0 || t >= times[i - 1]!))).toBe(true);
  expect(data.find((e) => e.type === 'rejected')).toMatchObject({ node: 'onprem', by: 'eop' });
});

test('relaylab ctl takes the same actions through the API, with the token from the certificate folder', async () => {
  const certs = mkdtempSync(join(tmpdir(), 'relaylab-ctl-'));
  writeFileSync(join(certs, 'control-token'), `${TOKEN}\n`, { mode: 0o600 });
  const ctl = (...args: string[]) => run(['ctl', ...args, '--web', `127.0.0.1:${port}`, '--certs', certs]);
  const status = await ctl('status');
  expect(status.code).toBe(0);
  expect(status.out).toMatch(/^onprem\s+exchange-server\s+127\.0\.0\.10:\d+\s+up\s+\d+$/m);
  const sent = await ctl('send', '--node', 'onprem', '--from', 'alice@contoso.example', '--to', 'carol@contoso.example', '--subject', 'from ctl');
  expect(sent.out.trim()).toMatch(/^<.+>$/);
  await until(async () => (await ctl('tracking', '--message-id', sent.out.trim(), '--event-id', 'DELIVER')).out.includes('STOREDRIVER'));
  expect((await ctl('down', 'gateway')).out).toBe('gateway: down\n');
  expect((await ctl('up', 'gateway')).out).toBe('gateway: up\n');
  expect((await ctl('advance', '15m')).out).toMatch(/^lab clock now \d{4}-/);
  const typo = await ctl('advance', 'later');
  expect(typo.code).not.toBe(0);
  expect(typo.err).toMatch(/400 duration: expected a duration/);
  writeFileSync(join(certs, 'control-token'), 'another-token-0123456789abcdefghijklmnopq\n', { mode: 0o600 });
  const refused = await ctl('status');
  expect(refused.code).not.toBe(0);
  expect(refused.err).toMatch(/401 missing or wrong token/);
});
