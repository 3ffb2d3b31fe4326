import { join } from 'node:path';
import type { Topology } from '@relaylab/core';
import { loadScenarioFile } from '../src/loader';
import { relocatePattern, relocateScenario, relocateTopology, relocateText } from '../src/relocate';

const topology: Topology = {
  nodes: {
    gw: {
      role: 'exchange-server',
      hostname: 'gw.example',
      address: '127.0.1.10',
      receiveConnectors: [
        { Name: 'r', Bindings: ['0.0.0.0:25'], RemoteIPRanges: ['127.0.0.60', '127.0.2.0/24', '127.0.0.1-127.0.0.9', '0.0.0.0-255.255.255.255'] },
      ],
    },
  },
  dns: { a: { 'extra.example': '127.0.0.99' } },
};

test('every loopback address in the topology moves to the prefix, connectors and DNS included', () => {
  const moved = relocateTopology(topology, '172.30');
  expect(moved.nodes.gw.address).toBe('172.30.1.10');
  expect(moved.nodes.gw.receiveConnectors![0].RemoteIPRanges).toEqual(['172.30.0.60', '172.30.2.0/24', '172.30.0.1-172.30.0.9', '0.0.0.0-255.255.255.255']);
  expect(moved.nodes.gw.receiveConnectors![0].Bindings).toEqual(['0.0.0.0:25']);
  expect(moved.dns!.a).toEqual({ 'extra.example': '172.30.0.99' });
  expect(topology.nodes.gw.address).toBe('127.0.1.10'); // the input is left alone
});

test('what cannot move faithfully is refused, naming the field', () => {
  expect(() => relocateText('127.1.0.5', '172.30', 'nodes.x.address')).toThrow('nodes.x.address: 127.1.0.5 is outside 127.0.0.0/16');
  expect(() => relocateText('127.0.0.0/8', '172.30')).toThrow(/wider than a \/16/);
  expect(() => relocateTopology(topology, '172.300')).toThrow(/first two octets/);
});

test('relocating to 127.0 is the identity (how tests run compose commands on loopback)', () => {
  expect(relocateTopology(topology, '127.0')).toEqual(topology);
});

describe('a scenario moves with its lab', () => {
  // The README's compose run failed on a real engine: the topology moved to 172.30.0.x, the
  // expected Received header still said (127.0.0.10).
  const scenario = loadScenarioFile(join(__dirname, '../../../scenarios/onprem-to-cloud-forced-tls.yaml'));
  const received =
    'from mail.contoso.example (172.30.0.10) by contoso-example.mail.protection.outlook.example (172.30.0.20) with Microsoft SMTP Server (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) id 1; Tue, 1 Jan 2030 00:00:00 +0000';

  test('an expected header pattern that names a host’s address names its new address', () => {
    const moved = relocateScenario(scenario, '172.30');
    const pattern = moved.expect.find((e) => e.message === 'to-cloud')!.headers![0].matches!;
    expect(new RegExp(pattern).test(received)).toBe(true);
    expect(new RegExp(pattern).test(received.replace('172.30.0.10', '127.0.0.10'))).toBe(false);
    expect(moved.topology.nodes.onprem.address).toBe('172.30.0.10');
    expect(scenario.expect.find((e) => e.message === 'to-cloud')!.headers![0].matches).toContain('127\\.0\\.0\\.10'); // the input is left alone
  });

  test('messages, steps and every expectation move; names and files do not', () => {
    const own = {
      ...scenario,
      name: 'at 127.0.0.10',
      messages: [{ ...scenario.messages[0], headers: { 'X-Origin': '[127.0.0.60]' } }],
      steps: [{ kind: 'fail' as const, node: 'eop', command: 'RCPT' as const, reply: '550 5.7.1 127.0.0.10 refused' }],
      expect: [
        {
          message: 'to-cloud',
          state: 'delivered' as const,
          headers: [
            { name: 'X-Origin', equals: '[127.0.0.60]' },
            { name: 'Received', matches: 'from .* \\(127\\.0\\.0\\.\\d+\\)' },
          ],
        },
      ],
    };
    const moved = relocateScenario(own, '172.30');
    expect(moved.name).toBe('at 127.0.0.10');
    expect(moved.file).toBe(scenario.file);
    expect(moved.messages[0].headers).toEqual({ 'X-Origin': '[172.30.0.60]' });
    expect(moved.steps).toEqual([{ kind: 'fail', node: 'eop', command: 'RCPT', reply: '550 5.7.1 172.30.0.10 refused' }]);
    expect(moved.expect[0].headers).toEqual([
      { name: 'X-Origin', equals: '[172.30.0.60]' },
      { name: 'Received', matches: 'from .* \\(172\\.30\\.0\\.\\d+\\)' },
    ]);
  });

  test('patterns move by their 127.0. prefix, escaped or not, and refuse what a /16 cannot follow', () => {
    expect(relocatePattern('^127.0.0.1$', '172.30')).toBe('^172.30.0.1$');
    expect(relocatePattern('\\b127\\.0\\.2\\.', '10.9')).toBe('\\b10\\.9\\.2\\.');
    expect(relocatePattern('10\\.127\\.0\\.5', '172.30')).toBe('10\\.127\\.0\\.5');
    expect(() => relocatePattern('\\(127\\.1\\.0\\.5\\)', '172.30', 'expect[0].headers[0].matches')).toThrow(
      /expect\[0\]\.headers\[0\]\.matches: .*outside 127\.0\.0\.0\/16/,
    );
    expect(relocateScenario(scenario, '127.0')).toEqual(scenario);
  });
});
