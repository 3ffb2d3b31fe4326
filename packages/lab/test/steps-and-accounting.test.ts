import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadScenarioFile, runScenario, ScenarioFileError } from '@relaylab/lab';

const dir = mkdtempSync(join(tmpdir(), 'relaylab-steps-'));
const topology = resolve(__dirname, '../../../scenarios/topologies/hybrid.yaml');
let n = 0;
function write(body: string): string {
  const file = join(dir, `s${n++}.yaml`);
  writeFileSync(
    file,
    `name: steps-${n}\ntopology: ${topology}\nmessages:\n  - { id: m1, from: tom@tailspin.example, to: [alice@contoso.example], via: tailspin }\n  - { id: m2, from: tom@tailspin.example, to: [carol@contoso.example], via: tailspin }\n${body}`,
  );
  return file;
}
function issues(file: string): string[] {
  try {
    loadScenarioFile(file);
  } catch (err) {
    if (err instanceof ScenarioFileError) return err.message.split('\n').map((l) => l.replace(`${file}:`, ''));
    throw err;
  }
  return [];
}
const expectM2 = 'expect:\n  - { message: m2, state: delivered }\n';

describe('steps are checked before anything starts, with file:line:column', () => {
  test('schema: a typo in a step, two things in one step, a reply that is no SMTP reply line', () => {
    const file = write(
      `steps:\n  - dwon: onprem\n  - { up: onprem, down: onprem }\n  - fail: { node: onprem, command: RCPT, reply: "451 4.3.2 busy\\r\\nX: y" }\n${expectM2}`,
    );
    expect(issues(file)).toEqual([
      '7:5: steps[0].dwon: unknown field "dwon" (did you mean "down"?)',
      '8:5: steps[1]: a step does one thing; found 2 fields (up, down): write them as separate steps',
      '9:49: steps[2].fail.reply: expected an SMTP reply such as 451 4.3.2 System not accepting network messages; found "451 4.3.2 busy\\r\\nX: y"',
    ]);
  });

  test('references: unknown node and message, a message sent twice, advance beside steps, a man in the middle with one side', () => {
    const file = write(
      `advance: 1h\nsteps:\n  - down: onprim\n  - send: m9\n  - send: m1\n  - send: m1\n  - stripStartTls: { from: eop, to: eop }\n${expectM2}`,
    );
    expect(issues(file)).toEqual([
      '6:1: advance: use either advance or steps, not both: advance is short for steps: [{ advance: ... }]',
      '8:11: steps[0].down: unknown node "onprim" (did you mean "onprem"?)',
      '9:11: steps[1].send: unknown message "m9" (did you mean "m1"?)',
      '11:11: steps[3].send: message "m1" is already sent by steps[2]; each message is sent once',
      '12:37: steps[4].stripStartTls.to: a man in the middle sits between two different nodes; found "eop" on both sides',
    ]);
  });

  test('steps load in order, settle may be bare', () => {
    const s = loadScenarioFile(write(`steps:\n  - down: onprem\n  - settle\n  - advance: 90m\n  - slow: { node: eop, delayMs: 5 }\n${expectM2}`));
    expect(s.steps).toEqual([
      { kind: 'down', node: 'onprem' },
      { kind: 'settle' },
      { kind: 'advance', ms: 90 * 60_000, text: '90m' },
      { kind: 'slow', node: 'eop', delayMs: 5 },
    ]);
  });
});

describe('accounting at the end of a scenario', () => {
  const certsDir = mkdtempSync(join(tmpdir(), 'relaylab-steps-certs-'));

  test('a message still queued at the end fails the scenario, named, unless an expectation says deferred', async () => {
    const result = await runScenario(loadScenarioFile(write(`steps:\n  - down: onprem\n${expectM2}`)), { certsDir });
    expect(result.passed).toBe(false);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]).toMatchObject({ subject: 'm1 → alice@contoso.example', field: 'accounting' });
    expect(String(result.failures[0].actual)).toMatch(
      /^still queued \(deferred\) at eop when the scenario ended: 450 4\.4\.316 Connection refused; add an expectation with state: deferred/,
    );

    const deliberate = await runScenario(
      loadScenarioFile(
        write(`steps:\n  - down: onprem\nexpect:\n  - { message: m1, state: deferred, node: eop, code: 450 4.4.316 }\n  - { message: m2, state: delivered }\n`),
      ),
      { certsDir },
    );
    expect(deliberate.failures).toEqual([]);
    expect(deliberate.passed).toBe(true);
  });

  test('an NDR expectation fails when no DSN reaches the sender', async () => {
    const result = await runScenario(
      loadScenarioFile(
        write(
          `steps:\n  - down: onprem\n  - advance: 25h\nexpect:\n  - { message: m1, state: bounced, ndr: { mailbox: tom@tailspin.example, code: 550 5.1.1 } }\n  - { message: m2, state: delivered }\n`,
        ),
      ),
      { certsDir },
    );
    expect(result.failures.map((f) => [f.field, f.expected, f.actual])).toEqual([
      [
        'ndr.code',
        'a multipart/report DSN reporting 550 5.1.1 (Diagnostic-Code and the human part)',
        '550 4.4.7 QUEUE.Expired; message expired [LastError: 450 4.4.316 Connection refused]',
      ],
    ]);
  });
});
