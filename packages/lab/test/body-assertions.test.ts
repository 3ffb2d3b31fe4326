import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { headerEnd } from '@relaylab/core';
import { fateOf, judge, loadScenarioFile, runScenario, ScenarioFileError, type Expectation, type ScenarioResult } from '@relaylab/lab';

/**
 * Body and header-position expectations, judged on the bytes a mailbox holds: the bundled
 * scenario runs over real sockets and passes; then the same trace is judged against copies that
 * differ from the real ones by one dot, one refold, one extra field, and each is caught.
 */

const certsDir = mkdtempSync(join(tmpdir(), 'relaylab-body-assertions-'));
const file = resolve(__dirname, '../../../scenarios/hybrid-body-byte-identical.yaml');
const scenario = loadScenarioFile(file);
const spec = scenario.messages.find((m) => m.id === 'onprem-to-cloud')!;
const submittedBody = (() => {
  const raw = Buffer.from(spec.raw!.replace(/\r?\n/g, '\r\n'), 'utf8');
  return raw.subarray(headerEnd(raw));
})();

let result: ScenarioResult;
beforeAll(async () => {
  result = await runScenario(scenario, { certsDir });
}, 60_000);

/** Which node listened where, as the receipts in the real trace say (EOP tenants share an address). */
const nodeAt = (ip: string, port: number) => result.trace.find((e) => e.type === 'received' && e.local.ip === ip && e.local.port === port)?.node;
const stored = () => result.fates.find((f) => f.message === 'onprem-to-cloud')!.fate.storedHeaders!;
/** Judges one expectation about onprem-to-cloud against a copy built from the stored header section. */
function judged(expectation: Partial<Expectation>, headers = stored(), body = submittedBody) {
  const copy = Buffer.concat([Buffer.from(headers, 'latin1'), body]);
  const only = { ...scenario, expect: [{ message: 'onprem-to-cloud', state: 'delivered' as const, ...expectation }] };
  const ids = new Map(Object.entries(result.messageIds));
  return judge(only, ids, result.trace, nodeAt, () => copy).failures.map((f) => [f.field, f.actual]);
}

test('the bundled scenario passes over real sockets: 8-bit, 998 octets, dots and folds arrive byte-identical', () => {
  expect(result.error).toBeUndefined();
  expect(result.failures).toEqual([]);
  expect(result.passed).toBe(true);
  // the copy this test rebuilds is the one the mailbox held: the same expectations pass on it
  expect(judged({ body: { unchanged: true }, headersIntact: true })).toEqual([]);
  const submitted = result.trace.find((e) => e.type === 'submitted' && e.messageId === result.messageIds['onprem-to-cloud']);
  expect(submitted).toMatchObject({ bodySha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
});

test('a body that lost one dot-stuffing dot fails body.unchanged, and unchanged: false then passes', () => {
  const lostDot = Buffer.from(submittedBody.toString('utf8').replace('\r\n..two dots', '\r\n.two dots'), 'utf8');
  expect(lostDot.length).toBe(submittedBody.length - 1);
  expect(judged({ body: { unchanged: true } }, undefined, lostDot)).toEqual([['body.unchanged', expect.stringMatching(/^SHA-256 [0-9a-f]{64}$/)]]);
  expect(judged({ body: { unchanged: false } }, undefined, lostDot)).toEqual([]);
  expect(judged({ body: { unchanged: false } })).toEqual([['body.unchanged', expect.stringMatching(/the same as submitted$/)]]);
});

test('bodyMatches reads the stored body as UTF-8, line by line', () => {
  expect(judged({ bodyMatches: '^8-bit: Grüße aus Zürich' })).toEqual([]);
  expect(judged({ bodyMatches: '^a line that starts with a dot$' })).toEqual([['bodyMatches', expect.stringContaining('8-bit: Grüße')]]);
});

test('headersIntact fails when a submitted field was refolded, even though its unfolded value is the same', () => {
  const refolded = stored().replace(
    /X-Lab-Folded: this field\r\n is folded\r\n\tover five lines,\r\n {3}with spaces and a tab\r\n kept as written/,
    'X-Lab-Folded: this field is folded over five lines, with spaces and a tab kept as written',
  );
  expect(refolded).not.toBe(stored());
  const value = 'this field is folded over five lines, with spaces and a tab kept as written';
  expect(judged({ headersIntact: true, headers: [{ name: 'X-Lab-Folded', equals: value }] }, refolded)).toEqual([
    ['headersIntact', expect.stringMatching(/^submitted "X-Lab-Folded: this field\\r\\n is folded/)],
  ]);
  // a field prepended above them is what nodes do: still intact
  expect(judged({ headersIntact: true }, `X-Added: on the way\r\n${stored()}`)).toEqual([]);
});

test('count, index and notEquals: a second AuthAs prepended above the real one is caught', () => {
  const doubled = `X-MS-Exchange-Organization-AuthAs: Anonymous\r\n${stored()}`;
  const name = 'X-MS-Exchange-Organization-AuthAs';
  expect(judged({ headers: [{ name, count: 1, notEquals: 'Anonymous' }] })).toEqual([]);
  expect(judged({ headers: [{ name, count: 1, notEquals: 'Anonymous' }] }, doubled)).toEqual([
    [`headers[${name}].notEquals`, ['Anonymous', 'Internal']],
    [`headers[${name}].count`, '2: ["Anonymous","Internal"]'],
  ]);
  expect(judged({ headers: [{ name, index: -1, equals: 'Internal' }] }, doubled)).toEqual([]);
  expect(judged({ headers: [{ name, index: 0, equals: 'Internal' }] }, doubled)).toEqual([
    [`headers[${name}].equals`, 'at 0: Anonymous; all: ["Anonymous","Internal"]'],
  ]);
  expect(judged({ headers: [{ name, index: 2 }] }, doubled)).toEqual([[`headers[${name}].present`, 'at 2: (nothing); all: ["Anonymous","Internal"]']]);
});

test('inboundConnector: none passes only where no connector matched', () => {
  expect(judged({ hops: [{ from: 'onprem', to: 'eop', inboundConnector: 'none' }] })).toEqual([['hops[0].inboundConnector', 'Inbound from on-premises']]);
  const internet = result.fates.find((f) => f.message === 'internet-to-onprem')!.fate;
  expect(internet.hops[0]).toMatchObject({ from: 'tailspin', to: 'eop', inboundConnector: undefined });
});

test('a bodyMatches that is not a regular expression is a file error at its line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-body-regex-'));
  const copy = join(dir, 'bad.yaml');
  writeFileSync(
    copy,
    readFileSync(file, 'utf8')
      .replace('topology: topologies/hybrid.yaml', `topology: ${resolve(__dirname, '../../../scenarios/topologies/hybrid.yaml')}`)
      .replace('bodyMatches: "^\\\\.$"', 'bodyMatches: "(unclosed"'),
  );
  let thrown: unknown;
  try {
    loadScenarioFile(copy);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ScenarioFileError);
  expect((thrown as ScenarioFileError).issues).toEqual([
    expect.objectContaining({ field: 'expect[1].bodyMatches', message: expect.stringMatching(/^expected a regular expression; found "\(unclosed"/) }),
  ]);
});

test('hops come in the order the message took them, however the trace streams interleaved', () => {
  const id = result.messageIds['internet-to-onprem']!;
  const attempts = result.trace.filter((e) => e.type === 'attempt' && e.messageId === id);
  expect(attempts.map((e) => e.node)).toEqual(['tailspin', 'eop']);
  // as when node processes' streams merge at one lab time: the later hop's event first
  const shuffled = [...result.trace.filter((e) => !attempts.includes(e)), ...[...attempts].reverse()];
  const fate = fateOf(shuffled, id, 'alice@contoso.example', nodeAt);
  expect(fate.hops.map((h) => `${h.from} → ${h.to}`)).toEqual(['tailspin → eop', 'eop → onprem']);
});
