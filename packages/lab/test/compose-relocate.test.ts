import type { Topology } from '@relaylab/core';
import { relocateTopology, relocateText } from '../src/relocate';

const topology: Topology = {
  nodes: {
    gw: {
      role: 'exchange-server',
      hostname: 'gw.example',
      address: '127.0.1.10',
      receiveConnectors: [{ Name: 'r', Bindings: ['0.0.0.0:25'], RemoteIPRanges: ['127.0.0.60', '127.0.2.0/24', '127.0.0.1-127.0.0.9', '0.0.0.0-255.255.255.255'] }],
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
