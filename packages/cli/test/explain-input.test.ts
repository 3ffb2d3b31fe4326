import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { parse } from 'yaml';
import { readHeaderSection } from '../src/commands/explain-input';
import { repo, run } from './run-cli';

/** `relaylab explain` reads the header section only: a stream that never ends, or a huge body, costs a bounded amount. */

/** An endless stream of `line`, counting how much was pulled from it. */
function endless(line: string): Readable & { pulled: () => number } {
  let pulled = 0;
  const chunk = Buffer.from(line.repeat(4096));
  const stream = new Readable({
    read() {
      pulled += chunk.length;
      this.push(chunk);
    },
  }) as Readable & { pulled: () => number };
  stream.pulled = () => pulled;
  return stream;
}

describe('explain input', () => {
  let dir: string;
  beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaylab-explain-input-'))));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a stream of headers that never ends is refused past the limit, and no longer read', async () => {
    const stream = endless('X-Foo: bar\r\n');
    await expect(readHeaderSection(stream, 'standard input', 1024 * 1024)).rejects.toThrow(
      'standard input: no blank line ends the header section within its first 1 MiB',
    );
    expect(stream.pulled()).toBeLessThan(2 * 1024 * 1024);
    expect(stream.destroyed).toBe(true);
  });

  test('a body that never ends is not read: the header section ends at the blank line', async () => {
    const body = endless('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n');
    const stream = Readable.from(
      (async function* () {
        yield Buffer.from('Received: from a by b; Mon, 30 Nov 2026 10:00:00 +0000\r\nSubject: x\r\n\r\n');
        for await (const c of body) yield c as Buffer;
      })(),
    );
    const headers = await readHeaderSection(stream, 'standard input', 1024 * 1024);
    expect(headers.toString()).toBe('Received: from a by b; Mon, 30 Nov 2026 10:00:00 +0000\r\nSubject: x\r\n\r\n');
  });

  test('a message saved as UTF-16 (Notepad, PowerShell 5.1 ">") is read like its UTF-8 form', async () => {
    const sample = path.join(repo, 'examples/headers/gateway-breaks-internal.eml');
    const utf16 = path.join(dir, 'utf16.eml');
    fs.writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(fs.readFileSync(sample, 'utf8'), 'utf16le')]));
    const want = await run(['explain', sample, '--format', 'json']);
    const got = await run(['explain', utf16, '--format', 'json']);
    expect(got.err).toBe('');
    expect(got.code).toBe(0);
    expect(got.out).toBe(want.out);
  });

  test('a file that cannot be read is named, exit 2', async () => {
    const missing = await run(['explain', path.join(dir, 'nope.eml')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^relaylab explain: .*nope\.eml: ENOENT/);
    const folder = await run(['explain', dir]);
    expect(folder.code).toBe(2);
    expect(folder.err).toContain(`${dir}: EISDIR`);
  });
});

describe('explain --scenario with hostile header values', () => {
  let dir: string;
  beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaylab-explain-replay-'))));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('stamp values and the file name are quoted in the scenario, never read as YAML', async () => {
    const sample = fs.readFileSync(path.join(repo, 'examples/headers/onprem-to-cloud-internal.eml'), 'latin1');
    const hostile = sample
      .replace(/^X-MS-Exchange-Organization-AuthAs: .*$/m, 'X-MS-Exchange-Organization-AuthAs: Internal }, sfv: {x: [')
      .replace(/^X-MS-Exchange-Organization-MessageDirectionality: .*$/m, 'X-MS-Exchange-Organization-MessageDirectionality: a: b #c');
    const message = path.join(dir, 'hostile.eml');
    fs.writeFileSync(message, hostile, 'latin1');
    const scenario = path.join(dir, 'odd: name #1.yaml');
    const { code } = await run(['explain', message, '--scenario', scenario]);
    expect(code).toBe(0);
    const doc = parse(fs.readFileSync(scenario, 'utf8')) as { name: string; expect: { hops?: Array<Record<string, unknown>> } };
    expect(doc.name).toBe('odd: name #1');
    expect(JSON.stringify(doc)).toContain('"authAs":"Internal }, sfv: {x: ["');
    expect(JSON.stringify(doc)).toContain('"directionality":"a: b #c"');
  });
});
