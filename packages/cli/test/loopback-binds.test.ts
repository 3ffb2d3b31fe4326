import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { checkBind } from '../src/commands/loopback';
import { freePortBase, startRelaylab } from './process-spawn';
import { run } from './run-cli';

const config = 'scenarios/topologies/onprem-hybrid.yaml';
const dir = mkdtempSync(join(tmpdir(), 'relaylab-binds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('every command that listens refuses an address off loopback unless asked', () => {
  test.each([
    [
      'node --address',
      ['node', '--config', config, '--node', 'onprem', '--address', '0.0.0.0', '--certs', join(dir, 'certs')],
      /--address 0\.0\.0\.0 is not a loopback address: SMTP and the control API would be reachable from the network; pass --allow-non-loopback/,
    ],
    [
      'node --address (a LAN address)',
      ['node', '--config', config, '--node', 'onprem', '--address', '192.168.1.20'],
      /--address 192\.168\.1\.20 is not a loopback address/,
    ],
    [
      'node --address (a name)',
      ['node', '--config', config, '--node', 'onprem', '--address', 'mail.example'],
      /--address expects an IP address; found "mail\.example"/,
    ],
    [
      'dns --listen',
      ['dns', '--config', config, '--listen', '0.0.0.0:5300'],
      /--listen 0\.0\.0\.0 is not a loopback address: the DNS service would be reachable/,
    ],
    ['up --dns', ['up', config, '--dns', '0.0.0.0:5300', '--out', join(dir, 'up')], /--dns 0\.0\.0\.0 is not a loopback address/],
    ['drive --dns', ['drive', 'scenarios/onprem-to-cloud-forced-tls.yaml', '--dns', '10.1.2.3:5300'], /--dns 10\.1\.2\.3 is not a loopback address/],
  ])('%s', async (_name, args, message) => {
    const { code, err } = await run(args);
    expect(code).toBe(2);
    expect(err).toMatch(message);
  });
});

describe('asked, it listens and says so on stderr', () => {
  const warnings = (request: Omit<Parameters<typeof checkBind>[0], 'err' | 'command' | 'what' | 'option'>) => {
    const err = new PassThrough();
    let text = '';
    err.on('data', (d) => (text += d));
    checkBind({ command: 'node', what: 'SMTP and the control API', option: '--address', err, ...request });
    return text;
  };

  test('loopback is silent; relocation into a private network is what compose asks for, and is said', () => {
    expect(warnings({ address: '127.0.0.10', allowed: false })).toBe('');
    expect(warnings({ address: '127.0.0.10', allowed: false, relocate: '127.0' })).toBe('');
    expect(warnings({ address: '172.30.0.10', allowed: false, relocate: '172.30' })).toBe(
      'relaylab node: WARNING: listening on 172.30.0.10 (SMTP and the control API), not on loopback (relocated by --relocate 172.30): anything that can reach that address can use it\n',
    );
  });

  test('relocation to a public network, or an address outside the relocation, still needs the flag', () => {
    expect(() => warnings({ address: '8.8.0.10', allowed: false, relocate: '8.8' })).toThrow(/--relocate 8\.8 is not in a private network/);
    expect(() => warnings({ address: '0.0.0.0', allowed: false, relocate: '172.30' })).toThrow(/--address 0\.0\.0\.0 is not a loopback address/);
    expect(warnings({ address: '8.8.0.10', allowed: true, relocate: '8.8' })).toMatch(/WARNING: listening on 8\.8\.0\.10/);
  });

  test('relaylab node --address 0.0.0.0 --allow-non-loopback comes up, with a warning on stderr', async () => {
    const port = await freePortBase(['0.0.0.0'], [0, 1]);
    const node = startRelaylab([
      'node',
      '--config',
      config,
      '--node',
      'printer',
      '--address',
      '0.0.0.0',
      '--allow-non-loopback',
      '--port',
      String(port),
      '--control-port',
      String(port + 1),
      '--certs',
      join(dir, 'certs'),
    ]);
    try {
      await node.waitFor(/"msg":"node up"/);
      expect(node.stderr()).toMatch(/^relaylab node: WARNING: listening on 0\.0\.0\.0 \(SMTP and the control API\), not on loopback \(--allow-non-loopback\)/m);
    } finally {
      await node.stop();
    }
  });
});
