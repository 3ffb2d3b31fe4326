import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { StaticResolver, type Topology } from '@relaylab/core';
import { controlTokenFile, ensureControlToken, readControlToken } from '../src/control-token';
import { NodeControlClient } from '../src/control-client';
import { CONTROL_BODY_LIMIT } from '../src/control-protocol';
import { StandaloneNode } from '../src/standalone-node';

// One real node process-in-process, as `relaylab node` runs it, with its control API on its own
// loopback address; every request below crosses a real HTTP socket.
const ADDRESS = '127.0.3.10';
const topology: Topology = {
  nodes: { onprem: { role: 'exchange-server', hostname: 'mail.contoso.example', address: ADDRESS, mailboxes: ['carol@contoso.example'] } },
};
const dir = mkdtempSync(join(tmpdir(), 'relaylab-control-'));
let node: StandaloneNode;
let token: string;
let CONTROL: number;

beforeAll(async () => {
  token = ensureControlToken(controlTokenFile(join(dir, 'certs')));
  CONTROL = 20000 + Math.floor(Math.random() * 20000);
  node = await StandaloneNode.start({
    topology,
    name: 'onprem',
    certsDir: join(dir, 'certs'),
    resolver: new StaticResolver(undefined, topology.nodes),
    port: CONTROL + 1,
    controlPort: CONTROL,
    controlToken: token,
    logger: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: { error?: string } & Record<string, unknown>;
}

/** One HTTP request to the control API as anyone could send it: every header is the caller's choice. */
function call(method: string, path: string, headers: Record<string, string | number> = {}, body?: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: ADDRESS, port: CONTROL, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode!, headers: res.headers, json: text ? JSON.parse(text) : {} });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const auth = () => ({ authorization: `Bearer ${token}` });
const post = (path: string, value: unknown, headers: Record<string, string> = {}) =>
  call('POST', path, { ...auth(), 'content-type': 'application/json', ...headers }, typeof value === 'string' ? value : JSON.stringify(value));

/** A whole SMTP conversation in plaintext; the code of the reply to the end of DATA. */
async function smtpDataReply(): Promise<string> {
  const socket = connect({ host: ADDRESS, port: node.node.port });
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  const until = async (re: RegExp) => {
    for (const deadline = Date.now() + 5000; !re.test(text); await new Promise((r) => setTimeout(r, 10))) {
      if (Date.now() > deadline) throw new Error(`no ${re} in:\n${text}`);
    }
  };
  try {
    await until(/^220 /m);
    socket.write('EHLO client.example\r\n');
    await until(/^250 /m);
    for (const [command, mark] of [
      ['MAIL FROM:<dave@fabrikam.example>', 2],
      ['RCPT TO:<carol@contoso.example>', 3],
      ['DATA', 1],
    ] as const) {
      socket.write(`${command}\r\n`);
      await until(new RegExp(`(?:^[0-9]{3} .*\\r\\n[^]*){${mark + 1}}`, 'm'));
    }
    socket.write('From: dave@fabrikam.example\r\nTo: carol@contoso.example\r\nSubject: after advance\r\nMessage-ID: <c1@fabrikam.example>\r\n\r\nhi\r\n.\r\n');
    await until(/(?:^[0-9]{3} .*\r\n[^]*){5}/m);
    return text.trim().split('\r\n').pop()!.slice(0, 3);
  } finally {
    socket.destroy();
  }
}

describe('only the lab’s runner gets in', () => {
  test('no token or a wrong one: 401 with a Bearer challenge; the lab’s token: 200', async () => {
    const none = await call('GET', '/status');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await call('GET', '/status', { authorization: `Bearer ${'x'.repeat(43)}` })).status).toBe(401);
    expect((await call('GET', '/mailboxes', { authorization: 'Basic dXNlcjpwYXNz' })).status).toBe(401);
    const ok = await call('GET', '/status', auth());
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ node: 'onprem' });
  });

  test('a Host that is not the bound address (DNS rebinding) is refused, token or not', async () => {
    for (const host of [`rebound.attacker.example:${CONTROL}`, `localhost:${CONTROL}`, `${ADDRESS}:${CONTROL + 7}`]) {
      const r = await call('GET', '/mailboxes', { ...auth(), host });
      expect(r.status).toBe(403);
      expect(r.json.error).toMatch(/Host .* is not this control API's address/);
    }
  });

  test('a browser’s simple cross-origin request is refused and does nothing', async () => {
    const before = (await call('GET', '/status', auth())).json.events;
    // what a page's <form method=post enctype=text/plain> or fetch(no-cors) can send
    const form = await call('POST', '/down', { origin: 'http://attacker.example', 'content-type': 'text/plain' }, '{}');
    expect(form.status).toBe(403);
    expect(form.json.error).toMatch(/web browsers/);
    // even carrying the token, a request with an Origin comes from a page
    expect((await post('/kick', {}, { origin: `http://${ADDRESS}:${CONTROL}` })).status).toBe(403);
    expect((await call('GET', '/status', { ...auth(), 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await call('GET', '/status', auth())).json.events).toBe(before);
  });
});

describe('requests are JSON, bounded and checked field by field', () => {
  test('a POST that is not application/json is refused with 415 and does nothing', async () => {
    const r = await call('POST', '/down', { ...auth(), 'content-type': 'text/plain' }, '{}');
    expect(r.status).toBe(415);
    expect(r.json.error).toMatch(/expected Content-Type: application\/json; found "text\/plain"/);
    expect((await call('POST', '/down', auth())).status).toBe(415);
    expect(await smtpDataReply()).toBe('250');
  });

  test('a body past the limit is refused with 413, declared or streamed', async () => {
    const big = JSON.stringify({ ms: 1, pad: 'x'.repeat(CONTROL_BODY_LIMIT) });
    const declared = await post('/advance', big);
    expect(declared.status).toBe(413);
    const streamed = await call('POST', '/advance', { ...auth(), 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, big);
    expect(streamed.status).toBe(413);
    expect(streamed.json.error).toBe(`request body exceeds ${CONTROL_BODY_LIMIT} bytes`);
  });

  test('POST /advance {"ms":"abc"} is a 400 and leaves the clock alone: DATA still gets 250', async () => {
    const r = await post('/advance', { ms: 'abc' });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/^ms: expected an integer from 0 to \d+; found "abc"$/);
    for (const bad of [{ ms: -1 }, { ms: 1.5 }, { ms: 1e300 }, { ms: null }, {}, { ms: 1, kick: 'yes' }, { ms: 1, extra: 1 }]) {
      expect({ bad, status: (await post('/advance', bad)).status }).toEqual({ bad, status: 400 });
    }
    expect(Number.isNaN(node.clock.now().getTime())).toBe(false);
    expect(await smtpDataReply()).toBe('250');
  });

  test('bad JSON, a non-object and every malformed field get 400 with the reason', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['/advance', '{"ms":', /^request body is not JSON/],
      ['/advance', '[1]', /^request body: expected a JSON object; found \[1\]/],
      ['/faults', { fault: 'fail', command: 'HELO', reply: '451 4.3.2 busy' }, /^command: expected one of EHLO, STARTTLS, MAIL, RCPT, DATA; found "HELO"/],
      ['/faults', { fault: 'fail', command: 'DATA', reply: '250 fine' }, /^reply: expected an SMTP reply/],
      ['/faults', { fault: 'fail', command: 'DATA', reply: '451 a\r\n250 b' }, /^reply: expected a string of one line/],
      ['/faults', { fault: 'fail', command: 'DATA', reply: '451 x', times: 0 }, /^times: expected an integer from 1/],
      ['/faults', { fault: 'slow', delayMs: 'x' }, /^delayMs: expected an integer from 0 to 30000; found "x"/],
      ['/faults', { fault: 'melt' }, /^fault: expected one of fail, dropDuringData/],
      ['/submit', { from: 'a@b.example', to: 'carol@contoso.example', raw: '' }, /^to: expected a non-empty list/],
      ['/submit', { from: 'a@b.example\r\nRCPT TO:<x@y>', to: ['carol@contoso.example'], raw: '' }, /^from: expected a string of one line/],
      ['/submit', { from: 'a@b.example', to: ['carol@contoso.example'], raw: '%%%' }, /^raw: expected the message as base64/],
      ['/detour', { to: 42 }, /^to: expected a string of one line/],
      ['/kick', { now: true }, /^unknown field "now"; expected none/],
    ];
    for (const [path, body, message] of cases) {
      const r = await post(path, body);
      expect({ path, body, status: r.status, error: r.json.error }).toEqual({ path, body, status: 400, error: expect.stringMatching(message) });
    }
    const trace = await call('GET', '/trace?from=-1', auth());
    expect(trace.status).toBe(400);
    expect((await call('GET', '/mailbox', auth())).status).toBe(400);
    expect((await call('GET', '/submit', auth())).status).toBe(405);
    expect((await call('GET', '/nowhere', auth())).status).toBe(404);
  });
});

test('the runner’s client carries the token and drives the node end to end', async () => {
  const client = new NodeControlClient('onprem', ADDRESS, CONTROL, readControlToken(controlTokenFile(join(dir, 'certs'))));
  const events: string[] = [];
  const stop = client.follow(
    0,
    (e) => events.push(e.type),
    (err) => events.push(`error ${err.message}`),
  );
  try {
    await client.fault({ fault: 'slow', delayMs: 1 });
    await client.advance(60_000);
    await client.kick();
    await client.down();
    await client.up();
    await client.reset();
    const id = await client.submit({
      from: 'dave@contoso.example',
      to: ['carol@contoso.example'],
      raw: Buffer.from('From: dave@contoso.example\r\nTo: carol@contoso.example\r\nSubject: via API\r\n\r\nhi\r\n'),
    });
    for (let i = 0; i < 100 && !(await client.mailbox('carol@contoso.example')).some((m) => m.messageId === id); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect((await client.mailbox('carol@contoso.example')).find((m) => m.messageId === id)?.raw.toString()).toMatch(/Subject: via API/);
    expect(events).toEqual(expect.arrayContaining(['fault', 'submitted']));
    expect(events.filter((e) => e.startsWith('error'))).toEqual([]);
    await expect(new NodeControlClient('onprem', ADDRESS, CONTROL, 'y'.repeat(43)).status()).rejects.toThrow(
      /node onprem: GET \/status: missing or wrong control token/,
    );
  } finally {
    stop();
  }
});

describe('the control token file', () => {
  test('made once with mode 0600; asked again, the same token comes back', () => {
    const file = join(dir, 'race', 'control-token');
    const tokens = Array.from({ length: 5 }, () => ensureControlToken(file));
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  test('a token file that other users can read is refused, naming the fix', () => {
    const file = join(dir, 'loose-token');
    writeFileSync(file, `${'z'.repeat(43)}\n`);
    chmodSync(file, 0o644);
    expect(() => readControlToken(file)).toThrow(`control token file ${file} can be read by other users (mode 0644); chmod 600 it`);
    expect(() => ensureControlToken(file)).toThrow(/chmod 600/);
  });
});

test('GET /clock tells the runner’s scheduler the node’s lab time and when its queue next has work (none when empty)', async () => {
  const client = new NodeControlClient('onprem', ADDRESS, CONTROL, token);
  const before = await client.clock();
  expect(before.nextDue).toBeUndefined();
  await client.advance(3_600_000, false);
  const after = await client.clock();
  expect(Date.parse(after.now) - Date.parse(before.now)).toBeGreaterThanOrEqual(3_600_000);
  expect((await call('GET', '/clock', { host: `${ADDRESS}:${CONTROL}` })).status).toBe(401);
});
