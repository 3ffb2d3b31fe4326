import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import type { Topology } from '@relaylab/core';
import { Lab, loadScenarioFile, ScenarioFileError } from '@relaylab/lab';

/**
 * Property tests: whatever a client sends, a node answers in SMTP and keeps serving; whatever a
 * scenario file holds, the loader returns a scenario or a file:line:column error, never a crash.
 */
/** One SMTP reply: its lines, or null when the server closed the connection or went quiet. */
type Reply = string[] | null;

/** Reads whole SMTP replies from a socket, which may be swapped for its TLS successor. */
class ReplyReader {
  private buffer = '';
  private waiting?: { resolve: (r: Reply) => void; timer: NodeJS.Timeout };
  private closed = false;
  readonly transcript: string[] = [];

  attach(socket: Socket | TLSSocket): void {
    socket.on('data', (d: Buffer) => {
      this.buffer += d.toString('latin1');
      this.deliver();
    });
    socket.on('close', () => {
      this.closed = true;
      this.deliver();
    });
    socket.on('error', () => undefined);
  }

  detach(socket: Socket): void {
    socket.removeAllListeners('data');
    socket.removeAllListeners('close');
  }

  private take(): string[] | undefined {
    const lines: string[] = [];
    let at = 0;
    for (;;) {
      const nl = this.buffer.indexOf('\r\n', at);
      if (nl < 0) return undefined;
      const line = this.buffer.slice(at, nl);
      lines.push(line);
      at = nl + 2;
      if (!/^\d{3}-/.test(line)) {
        this.buffer = this.buffer.slice(at);
        this.transcript.push(...lines);
        return lines;
      }
    }
  }

  private deliver(): void {
    if (!this.waiting) return;
    const reply = this.take();
    if (reply || this.closed) {
      clearTimeout(this.waiting.timer);
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve(reply ?? null);
    }
  }

  next(timeoutMs = 3000): Promise<Reply> {
    return new Promise((resolve) => {
      this.waiting = { resolve, timer: setTimeout(() => ((this.waiting = undefined), resolve(null)), timeoutMs) };
      this.deliver();
    });
  }

  /** What is left unread (a server that answered more than it was asked). */
  rest(): string {
    return this.buffer;
  }
}

interface Transaction {
  mail: string;
  rcpts: string[];
  data: boolean;
  body: string;
  pipelined: boolean;
  rset: boolean;
  /** A command a client should not send here (out of order, garbage, too long). */
  stray?: string | null;
}
interface Session {
  greeting: string;
  starttls: boolean;
  transactions: Transaction[];
}

interface Played {
  replies: string[];
  reachedData: number;
  /** Message ids from `250 2.6.0 <id> Queued mail for delivery`, one per accepted message. */
  accepted: string[];
  /** Final DATA replies other than 250 (a refusal or a temporary failure after 354). */
  dataRefused: string[];
  stuck: boolean;
}

/**
 * Property tests: whatever a client sends, a node answers in SMTP and keeps serving; whatever a
 * scenario file holds, the loader returns a scenario or a file:line:column error, never a crash.
 * The SMTP sessions are whole conversations of a client that waits for the greeting (one that
 * talks first only meets smtp-server's early-talker guard): EHLO, STARTTLS, MAIL with parameters,
 * RCPT, DATA with odd bytes, RSET and pipelined groups, so that most of them reach DATA and the
 * node's own code (classification, header firewall, routing, the queue) sees the bytes.
 */
describe('whole SMTP sessions with odd commands and bytes against a node, over real sockets', () => {
  const topology: Topology = {
    authorities: { root: { commonName: 'Fuzz Root' } },
    certificates: { f: { subject: 'mx.f.example', issuer: 'root' } },
    organizations: { f: { domains: ['f.example'] } },
    nodes: {
      f: {
        role: 'exchange-server',
        hostname: 'mx.f.example',
        address: '127.0.0.190',
        organization: 'f',
        certificate: 'f',
        mailboxes: ['r@f.example', 's@f.example'],
      },
    },
  };
  let lab: Lab;
  beforeAll(async () => {
    lab = await Lab.start(topology, { certsDir: mkdtempSync(join(tmpdir(), 'relaylab-fuzz-')), timeouts: { socketMs: 2000 } });
  });
  afterAll(() => lab.stop());

  const word = fc.stringMatching(/^[A-Za-z0-9.@<>:=_+-]{0,30}$/);
  const sender = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom('<a@sender.example>', '<>', '<A.B+tag@Sender.Example>', '<r@f.example>', '<a@[127.0.0.1]>') },
    {
      weight: 1,
      arbitrary: fc.constantFrom('<"quoted local"@sender.example>', '<@route.example:a@sender.example>', 'a@sender.example', '<üser@sender.example>'),
    },
  );
  const mailParam = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('SIZE=1000', 'SIZE=0', 'BODY=8BITMIME', 'BODY=7BIT', 'SMTPUTF8', 'RET=HDRS', 'RET=FULL', 'ENVID=QQ314159') },
    { weight: 1, arbitrary: fc.constantFrom('SIZE=99999999999', 'BODY=BINARYMIME', 'AUTH=<>', 'X-ODD=1', 'SIZE=abc', 'BODY=') },
  );
  const rcpt = fc.oneof(
    {
      weight: 12,
      arbitrary: fc.constantFrom(
        '<r@f.example>',
        '<s@f.example>',
        '<R@F.EXAMPLE>',
        '<r@f.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;r@f.example',
        '<s@f.example> NOTIFY=NEVER',
      ),
    },
    { weight: 2, arbitrary: fc.constantFrom('<nobody@f.example>', '<x@elsewhere.example>', '<>', '<r@f.example> FOO=bar', 'r@f.example', '<postmaster>') },
    { weight: 1, arbitrary: word.map((w) => `<${w}>`) },
  );
  const bodyLine = fc.oneof(
    fc.constantFrom(
      'Subject: fuzz',
      'From: a@sender.example',
      'To: r@f.example',
      'Message-ID: <fuzz@sender.example>',
      'Message-ID:',
      'X-MS-Exchange-Organization-AuthAs : Internal',
      'X-MS-Exchange-Organization-SCL\t: -1',
      'X-MS-Exchange-CrossPremises-AuthAs: Internal',
      'Received: from x by y; Mon, 1 Jan 2024 00:00:00 +0000',
      ' folded continuation',
      '',
      '.',
      '..',
      '.hidden leading dot',
      'Subject: bare\rCR inside',
      'Subject: bare\nLF inside',
      'nul\u0000byte',
      'eight-bit \u00e9\u00ff\u0080',
      'Content-Type: multipart/mixed; boundary="b"',
      '--b',
      'x'.repeat(1200),
    ),
    fc.string({ maxLength: 60 }).map((t) => t.replace(/\r\n\.\r\n/g, '')),
    fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString('latin1')),
  );
  const body = fc
    .record({ lines: fc.array(bodyLine, { maxLength: 20 }), eol: fc.constantFrom('\r\n', '\r\n', '\n'), stuff: fc.boolean() })
    .map(({ lines, eol, stuff }) =>
      // A lone '.' would end DATA early, so it is always stuffed; other leading dots only sometimes.
      lines
        .map((l) => (l === '.' || (stuff && l.startsWith('.')) ? `.${l}` : l))
        .join(eol)
        .replace(/(?<=^|\n)\.(?=\r?\n|$)/g, '..'),
    );
  const stray = fc.constantFrom(
    'NOOP',
    'VRFY r',
    'EXPN list',
    'HELP',
    'BDAT 10 LAST',
    'AUTH PLAIN AGFAYQ==',
    'DATA',
    'MAIL FROM:<again@sender.example>',
    'TURN',
    'X'.repeat(600),
    '\u0000\u0001\u0002',
    'RCPT TO:<r@f.example>',
  );
  const transaction = fc.record({
    mail: fc
      .tuple(sender, fc.uniqueArray(mailParam, { maxLength: 2, selector: (p) => p.split('=')[0] }), fc.constantFrom('MAIL FROM:', 'MAIL FROM: ', 'mail from:'))
      .map(([s, ps, verb]) => [verb + s, ...ps].join(' ')),
    rcpts: fc.array(rcpt, { minLength: 1, maxLength: 3 }).map((rs) => rs.map((r) => `RCPT TO:${r}`)),
    data: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    body,
    pipelined: fc.boolean(),
    rset: fc.boolean(),
    stray: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: stray }),
  });
  const session = fc.record({
    greeting: fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom('EHLO fuzz.example', 'HELO fuzz.example', 'EHLO [127.0.0.191]', 'ehlo Fuzz.Example') },
      { weight: 1, arbitrary: fc.constantFrom('EHLO', 'EHLO a b c', 'HELO') },
    ),
    starttls: fc.boolean(),
    transactions: fc.array(transaction, { minLength: 1, maxLength: 3 }),
  });

  async function play(port: number, s: Session): Promise<Played> {
    const played: Played = { replies: [], reachedData: 0, accepted: [], dataRefused: [], stuck: false };
    const reader = new ReplyReader();
    let socket: Socket | TLSSocket = connect({ host: '127.0.0.190', port, localAddress: '127.0.0.191' });
    reader.attach(socket);
    const write = (text: string) => !socket.destroyed && socket.write(text, 'latin1');
    const ask = async (line: string): Promise<Reply> => {
      write(`${line}\r\n`);
      return reader.next();
    };
    try {
      // A polite client waits for the greeting.
      if (!(await reader.next())) return { ...played, stuck: true };
      let hello = await ask(s.greeting);
      if (!hello) return { ...played, stuck: true };
      const pipelining = hello.some((l) => /^250[ -]PIPELINING/i.test(l));
      if (s.starttls && hello.some((l) => /^250[ -]STARTTLS/i.test(l))) {
        const go = await ask('STARTTLS');
        if (go?.[0].startsWith('220')) {
          const plain = socket as Socket;
          reader.detach(plain);
          socket = tlsConnect({ socket: plain, rejectUnauthorized: false, servername: 'mx.f.example' });
          reader.attach(socket);
          await new Promise<void>((ok) => (socket as TLSSocket).once('secureConnect', () => ok()).once('error', () => ok()));
          hello = await ask(s.greeting);
          if (!hello) return { ...played, stuck: true };
        }
      }
      for (const t of s.transactions) {
        if (t.stray && !(await ask(t.stray))) return { ...played, stuck: true };
        const envelope = [t.mail, ...t.rcpts, ...(t.data ? ['DATA'] : [])];
        let replies: Reply[];
        if (t.pipelined && pipelining) {
          write(envelope.map((c) => `${c}\r\n`).join(''));
          replies = [];
          for (let i = 0; i < envelope.length; i++) replies.push(await reader.next());
        } else {
          replies = [];
          for (const c of envelope) replies.push(await ask(c));
        }
        if (replies.some((r) => !r)) return { ...played, stuck: true };
        const dataReply = t.data ? replies[replies.length - 1]! : undefined;
        if (dataReply?.[0].startsWith('354')) {
          played.reachedData++;
          const end = await ask(`${t.body}\r\n.`);
          if (!end) return { ...played, stuck: true };
          // Exchange's 250 names the message, then its InternalId and host: `<id> [InternalId=…, Hostname=…]`
          const queued = /^250 2\.6\.0 (\S*)(?: \[InternalId=\d+, Hostname=[^\]]+\])? Queued mail for delivery$/.exec(end[0]);
          if (queued) played.accepted.push(queued[1]);
          else played.dataRefused.push(end.join(' | '));
        }
        if (t.rset && !(await ask('RSET'))) return { ...played, stuck: true };
      }
      await ask('QUIT');
      return played;
    } finally {
      played.replies = [...reader.transcript];
      if (reader.rest()) played.replies.push(reader.rest());
      socket.destroy();
    }
  }

  test('most sessions reach DATA; every reply is SMTP, every accepted message is accounted for, the node serves on', async () => {
    const totals = { sessions: 0, reachedData: 0, accepted: [] as string[], dataRefused: [] as string[], stuck: 0 };
    await fc.assert(
      fc.asyncProperty(session, async (s) => {
        const p = await play(lab.node('f').port, s);
        totals.sessions++;
        totals.reachedData += p.reachedData > 0 ? 1 : 0;
        totals.accepted.push(...p.accepted);
        totals.dataRefused.push(...p.dataRefused);
        totals.stuck += p.stuck ? 1 : 0;
        for (const l of p.replies) expect(l).toMatch(/^[2-5]\d\d[ -]/);
      }),
      { numRuns: 80 },
    );

    console.log(
      `SMTP fuzz: ${totals.sessions} sessions, ${totals.reachedData} reached DATA (${Math.round((100 * totals.reachedData) / totals.sessions)}%), ` +
        `${totals.accepted.length} messages accepted, ${totals.dataRefused.length} refused after DATA, ${totals.stuck} sessions cut off or silent` +
        (totals.dataRefused.length ? `\nrefused after DATA: ${[...new Set(totals.dataRefused)].slice(0, 5).join('\n  ')}` : ''),
    );
    expect(totals.reachedData / totals.sessions).toBeGreaterThanOrEqual(0.5);
    expect(totals.accepted.length).toBeGreaterThan(0);

    // Every message answered 250 was received once and each of its recipients reached exactly one
    // final state; the mailboxes hold exactly the copies the trace says were delivered.
    const events = lab.trace.events;
    const finals = new Set(['delivered', 'bounced', 'rejected', 'deleted']);
    const problems: string[] = [];
    const acceptedCount = new Map<string, number>();
    for (const id of totals.accepted) acceptedCount.set(id, (acceptedCount.get(id) ?? 0) + 1);
    for (const [id, count] of acceptedCount) {
      const received = events.filter((e) => e.type === 'received' && e.messageId === id);
      if (received.length !== count) problems.push(`${id}: accepted ${count} times, received ${received.length} times`);
      for (const r of received) {
        if (r.type !== 'received') continue;
        for (const to of r.to) {
          const states = events.filter(
            (e) =>
              'messageId' in e &&
              e.messageId === id &&
              finals.has(e.type) &&
              ('recipient' in e ? e.recipient === to : 'recipients' in e && e.recipients.includes(to)),
          );
          const queued = lab
            .node('f')
            .queue.pending()
            .some((q) => q.messageId === id);
          if (states.length < 1 && !queued) problems.push(`${id} → ${to}: no final state`);
        }
      }
    }
    const delivered = events.filter((e) => e.type === 'delivered').length;
    const stored = lab.node('f').mailboxes.all().length;
    if (stored !== delivered) problems.push(`mailboxes hold ${stored} messages, the trace delivered ${delivered}`);
    const receivedTotal = events.filter((e) => e.type === 'received').length;
    if (receivedTotal !== totals.accepted.length)
      problems.push(`the trace received ${receivedTotal} messages, clients were told 250 for ${totals.accepted.length}`);
    expect(problems).toEqual([]);

    // Still alive and still itself: a clean session gets its greeting, EHLO and a message through.
    const after = await play(lab.node('f').port, {
      greeting: 'EHLO ok.example',
      starttls: true,
      transactions: [
        {
          mail: 'MAIL FROM:<a@sender.example>',
          rcpts: ['RCPT TO:<r@f.example>'],
          data: true,
          body: 'Subject: after\r\n\r\nstill fine',
          pipelined: false,
          rset: false,
        },
      ],
    });
    expect(after.replies[0]).toMatch(/^220 mx\.f\.example/);
    expect(after.accepted).toHaveLength(1);
    expect(after.replies[after.replies.length - 1]).toMatch(/^221 /);
  }, 90_000);
});

describe('random and malformed scenario files against the loader', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-fuzz-files-'));
  const topologyFile = resolve(__dirname, '../../../scenarios/topologies/hybrid.yaml');
  const valid = {
    name: 'fuzzed',
    topology: topologyFile,
    messages: [{ id: 'm1', from: 'tom@tailspin.example', to: ['alice@contoso.example'], via: 'tailspin', headers: { 'X-Test': 'one' } }],
    steps: [
      { down: 'onprem' },
      { send: 'm1' },
      'settle',
      { fail: { node: 'onprem', command: 'RCPT', reply: '451 4.3.2 busy', times: 1 } },
      { advance: '3h' },
      { up: 'onprem' },
    ],
    expect: [{ message: 'm1', state: 'delivered', path: ['tailspin', 'eop', 'onprem'] }],
  };
  type Doc = Record<string, unknown>;
  const anyValue = fc.oneof(fc.anything({ maxDepth: 2 }), fc.constantFrom('onprem', 'nowhere', '25h', 'settle', 'a\r\nBcc: x@evil.example', '', null));
  /** A path into the valid document and what to do there. */
  const mutation = fc.record({
    path: fc.array(
      fc.oneof(
        fc.constantFrom(
          'name',
          'topology',
          'messages',
          'steps',
          'expect',
          'advance',
          'patch',
          'headers',
          'X-Test',
          'to',
          'via',
          'from',
          'fail',
          'reply',
          'node',
          'state',
          'path',
          'dwon',
        ),
        fc.nat({ max: 6 }),
      ),
      { minLength: 1, maxLength: 4 },
    ),
    action: fc.constantFrom('set', 'delete'),
    value: anyValue,
  });

  function mutate(doc: Doc, m: { path: Array<string | number>; action: string; value: unknown }): Doc {
    const copy = structuredClone(doc) as Doc;
    let at: unknown = copy;
    for (const key of m.path.slice(0, -1)) {
      if (at === null || typeof at !== 'object') return copy;
      const next = (at as Record<string | number, unknown>)[key];
      if (next === undefined) (at as Record<string | number, unknown>)[key] = {};
      at = (at as Record<string | number, unknown>)[key];
    }
    if (at === null || typeof at !== 'object') return copy;
    const last = m.path[m.path.length - 1];
    if (m.action === 'delete') delete (at as Record<string | number, unknown>)[last];
    else (at as Record<string | number, unknown>)[last] = m.value;
    return copy;
  }

  let n = 0;
  function check(text: string): void {
    const file = join(dir, `f${n++}.yaml`);
    writeFileSync(file, text);
    try {
      loadScenarioFile(file);
    } catch (err) {
      if (!(err instanceof ScenarioFileError)) throw new Error(`not a ScenarioFileError: ${(err as Error).stack}\n--- file ---\n${text}`);
      expect(err.issues.length).toBeGreaterThan(0);
      for (const issue of err.issues) {
        expect(issue.line).toBeGreaterThanOrEqual(1);
        expect(issue.column).toBeGreaterThanOrEqual(1);
        expect(issue.field).not.toBe('');
        expect(issue.message).toMatch(/\S/);
        expect(issue.message).not.toMatch(/undefined|\[object Object\]|NaN/);
      }
      expect(err.message).toMatch(/^[^\n]+:\d+:\d+: [^\n]+: /);
    }
  }

  test('the valid document loads', () => {
    writeFileSync(join(dir, 'valid.yaml'), stringify(valid));
    expect(loadScenarioFile(join(dir, 'valid.yaml')).steps).toHaveLength(6);
  });

  test('mutated documents load or fail with file:line:column errors', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => check(stringify(ms.reduce(mutate, valid as Doc)))),
      { numRuns: 300 },
    );
  });

  test('arbitrary text and broken YAML fail with file:line:column errors', () => {
    const yamlish = fc
      .array(
        fc.oneof(
          fc.constantFrom('- ', ': ', '{', '}', '[', ']', '"', "'", '\t', '\n', '  ', '&a ', '*a ', '!!binary ', 'name: x\n', 'topology: '),
          fc.string({ maxLength: 10 }),
        ),
        { maxLength: 40 },
      )
      .map((parts) => parts.join(''));
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 300 }), yamlish), check), { numRuns: 300 });
  });
});
