import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repo, run } from './run-cli';

describe('relaylab import', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaylab-import-cli-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('writes the topology, says it loads, and reports certificates and what it could not map', async () => {
    const file = path.join(dir, 'fabrikam.yaml');
    const { code, out, err } = await run(['import', path.join(repo, 'examples/fabrikam-hybrid'), '-o', file, '--at', '2026-11-30']);
    expect(code).toBe(0);
    expect(out).toBe('');
    expect(err).toMatch(/^read 15 file\(s\)\n/);
    expect(err).toContain('  onprem: CN=mail.fabrikam.example, names mail.fabrikam.example, autodiscover.fabrikam.example, NotAfter 2027-09-14T00:00:00.000Z');
    expect(err).toMatch(/Get-TransportRule\.json "External disclaimer": the rule uses SentToScope, .* imported with State Disabled/);
    expect(err).toContain(`wrote ${file}; it loads as a topology`);
    expect(fs.readFileSync(file, 'utf8')).toContain('name: imported-fabrikam');
  });

  test('without -o the topology goes to stdout', async () => {
    const { code, out } = await run(['import', path.join(repo, 'examples/fabrikam-hybrid/exchange-online')]);
    expect(code).toBe(0);
    expect(out).toContain('inboundConnectors:');
  });

  test('a corrupt export among good ones fails the import (exit 2) naming the file and line, writing nothing', async () => {
    const exports = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'relaylab-import-corrupt-')), 'exports');
    fs.cpSync(path.join(repo, 'examples/fabrikam-hybrid'), exports, { recursive: true });
    const bad = path.join(exports, 'exchange-online/Get-InboundConnector.json');
    fs.writeFileSync(bad, fs.readFileSync(bad, 'utf8').slice(0, 500));
    const file = path.join(dir, 'corrupt.yaml');
    const { code, out, err } = await run(['import', exports, '-o', file]);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(new RegExp(`^relaylab import: cannot read ${bad}: not valid JSON: .* at line 11, column 57\\n$`));
    expect(fs.existsSync(file)).toBe(false);
    fs.rmSync(path.dirname(exports), { recursive: true });
  });

  test('an output that cannot be written is named, exit 2, no stack trace; missing folders are made', async () => {
    const intoFolder = await run(['import', path.join(repo, 'examples/fabrikam-hybrid/exchange-online'), '-o', dir]);
    expect(intoFolder.code).toBe(2);
    expect(intoFolder.err).toMatch(new RegExp(`relaylab import: -o ${dir}: EISDIR`));
    const underProc = await run(['import', path.join(repo, 'examples/fabrikam-hybrid/exchange-online'), '-o', '/proc/relaylab-nope/x.yaml']);
    expect(underProc.code).toBe(2);
    expect(underProc.err).toContain('relaylab import: -o /proc/relaylab-nope/x.yaml: ENOENT');
    const nested = path.join(dir, 'a/b/c.yaml');
    expect((await run(['import', path.join(repo, 'examples/fabrikam-hybrid/exchange-online'), '-o', nested])).code).toBe(0);
    expect(fs.existsSync(nested)).toBe(true);
  });

  test('bad input: nothing named, nothing found, a bad date', async () => {
    expect((await run(['import'])).code).toBe(2);
    const empty = await run(['import', dir]);
    expect(empty.code).toBe(2);
    expect(empty.err).toContain('no Exchange exports (.json, .csv, .xml) found');
    fs.writeFileSync(path.join(dir, 'Get-Thing.json'), '[{"Foo": 1}]');
    const unknown = await run(['import', dir]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('no Exchange exports (.json, .csv, .xml) recognized in');
    expect(unknown.err).toContain('Get-Thing.json "item 1": could not tell which cmdlet made it');
    fs.rmSync(path.join(dir, 'Get-Thing.json'));
    const date = await run(['import', path.join(repo, 'examples/fabrikam-hybrid'), '--at', 'soon']);
    expect(date.code).toBe(2);
    expect(date.err).toContain('--at: expected an ISO 8601 date; found "soon"');
  });
});
