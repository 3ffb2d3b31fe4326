import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
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
describe('random and malformed SMTP sessions against a node, over real sockets', () => {
  const topology: Topology = {
    authorities: { root: { commonName: 'Fuzz Root' } },
    certificates: { f: { subject: 'mx.f.example', issuer: 'root' } },
    organizations: { f: { domains: ['f.example'] } },
    nodes: { f: { role: 'exchange-server', hostname: 'mx.f.example', address: '127.0.0.190', organization: 'f', certificate: 'f', mailboxes: ['r@f.example'] } },
  };
  let lab: Lab;
  beforeAll(async () => {
    lab = await Lab.start(topology, { certsDir: mkdtempSync(join(tmpdir(), 'relaylab-fuzz-')), timeouts: { socketMs: 300 } });
  });
  afterAll(() => lab.stop());

  const word = fc.stringMatching(/^[A-Za-z0-9.@<>:=_-]{0,40}$/);
  const line = fc.oneof(
    fc.constantFrom('EHLO fuzz.example', 'HELO fuzz.example', 'RSET', 'NOOP', 'QUIT', 'DATA', '.', 'STARTTLS', 'AUTH PLAIN AGFAYQ==', 'VRFY r', 'BDAT 10', 'MAIL FROM:<>', 'RCPT TO:<r@f.example>'),
    fc.tuple(fc.constantFrom('MAIL FROM:', 'RCPT TO:', 'EHLO ', 'MAIL FROM:<', 'RCPT TO:<'), word).map(([a, b]) => a + b),
    fc.string({ maxLength: 200 }),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
    fc.constant('A'.repeat(20_000)),
  );
  const session = fc.record({ lines: fc.array(line, { maxLength: 25 }), separator: fc.constantFrom('\r\n', '\n', '\r'), burst: fc.boolean() });

  /** Plays the session, then reads until the server closes or goes quiet; the transcript. */
  function play(port: number, s: { lines: string[]; separator: string; burst: boolean }, afterGreeting = false): Promise<string> {
    return new Promise((done) => {
      let text = '';
      const socket = connect({ host: '127.0.0.190', port, localAddress: '127.0.0.191' });
      let quiet: NodeJS.Timeout;
      const finish = () => {
        clearTimeout(quiet);
        socket.destroy();
        done(text);
      };
      const wait = () => {
        clearTimeout(quiet);
        quiet = setTimeout(finish, 120);
      };
      socket.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        wait();
      });
      socket.on('close', finish);
      socket.on('error', () => undefined);
      const talk = () => {
        const payload = s.lines.map((l) => l + s.separator);
        if (s.burst) socket.write(payload.join(''), 'latin1');
        else payload.forEach((p, i) => setTimeout(() => !socket.destroyed && socket.write(p, 'latin1'), i * 2));
        wait();
      };
      // Talking before the greeting is itself hostile (421 "You talk too soon"); a polite client waits.
      if (afterGreeting) socket.once('data', talk);
      else socket.once('connect', talk);
    });
  }

  test('every reply is an SMTP reply line, and the node serves the next client', async () => {
    await fc.assert(
      fc.asyncProperty(session, async (s) => {
        const transcript = await play(lab.node('f').port, s);
        const lines = transcript.split('\r\n').filter((l) => l !== '');
        for (const l of lines) expect(l).toMatch(/^[2-5]\d\d[ -]/);
      }),
      { numRuns: 40 },
    );
    // Still alive and still itself: a clean session gets its greeting and its EHLO answered.
    const after = await play(lab.node('f').port, { lines: ['EHLO ok.example', 'QUIT'], separator: '\r\n', burst: true }, true);
    expect(after).toMatch(/^220 mx\.f\.example/);
    expect(after).toMatch(/^250[ -]mx\.f\.example/m);
    expect(after).toMatch(/^221 /m);
  }, 60_000);
});

describe('random and malformed scenario files against the loader', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-fuzz-files-'));
  const topologyFile = resolve(__dirname, '../../../scenarios/topologies/hybrid.yaml');
  const valid = {
    name: 'fuzzed',
    topology: topologyFile,
    messages: [{ id: 'm1', from: 'tom@tailspin.example', to: ['alice@contoso.example'], via: 'tailspin', headers: { 'X-Test': 'one' } }],
    steps: [{ down: 'onprem' }, { send: 'm1' }, 'settle', { fail: { node: 'onprem', command: 'RCPT', reply: '451 4.3.2 busy', times: 1 } }, { advance: '3h' }, { up: 'onprem' }],
    expect: [{ message: 'm1', state: 'delivered', path: ['tailspin', 'eop', 'onprem'] }],
  };
  type Doc = Record<string, unknown>;
  const anyValue = fc.oneof(fc.anything({ maxDepth: 2 }), fc.constantFrom('onprem', 'nowhere', '25h', 'settle', 'a\r\nBcc: x@evil.example', '', null));
  /** A path into the valid document and what to do there. */
  const mutation = fc.record({
    path: fc.array(fc.oneof(fc.constantFrom('name', 'topology', 'messages', 'steps', 'expect', 'advance', 'patch', 'headers', 'X-Test', 'to', 'via', 'from', 'fail', 'reply', 'node', 'state', 'path', 'dwon'), fc.nat({ max: 6 })), { minLength: 1, maxLength: 4 }),
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
    fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => check(stringify(ms.reduce(mutate, valid as Doc)))), { numRuns: 300 });
  });

  test('arbitrary text and broken YAML fail with file:line:column errors', () => {
    const yamlish = fc.array(fc.oneof(fc.constantFrom('- ', ': ', '{', '}', '[', ']', '"', "'", '\t', '\n', '  ', '&a ', '*a ', '!!binary ', 'name: x\n', 'topology: '), fc.string({ maxLength: 10 })), { maxLength: 40 }).map((parts) => parts.join(''));
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 300 }), yamlish), check), { numRuns: 300 });
  });
});
