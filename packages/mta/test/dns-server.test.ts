import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { DnsError } from '@relaylab/core';
import { loadTopologyFile } from '../../lab/src/loader';
import { NetworkResolver, TopologyDnsServer } from '../src';
import { tool } from './debian-tools';

const ADDRESS = '127.0.0.53';
let PORT: number;
const topology = loadTopologyFile(resolve(__dirname, '../../../scenarios/topologies/onprem-hybrid.yaml'));
let server: TopologyDnsServer;

// A DNS server needs a fixed port for dig and the resolver; a random one below the ephemeral
// range, retried if taken, so test runs side by side do not collide.
beforeAll(async () => {
  for (let tries = 0; !server; tries++) {
    PORT = 10_000 + Math.floor(Math.random() * 20_000);
    server = await TopologyDnsServer.start({ topology, address: ADDRESS, port: PORT }).catch((err: Error) => {
      if (tries > 20) throw err;
      return undefined as unknown as TopologyDnsServer;
    });
  }
});
afterAll(() => server.close());

const resolver = () => new NetworkResolver(`${ADDRESS}:${PORT}`);

test('MX and A records of the topology come back over real DNS queries', async () => {
  expect(await resolver().mx('contoso.mail.onmicrosoft.example')).toEqual([{ exchange: 'contoso-example.mail.protection.outlook.example', preference: 10 }]);
  expect(await resolver().a('contoso-example.mail.protection.outlook.example')).toEqual(['127.0.0.20']);
  expect(await resolver().a('MFD.contoso.example')).toEqual(['127.0.0.60']);
});

test('a host without MX is its own implicit MX (RFC 5321 5.1); an unknown domain is a DnsError', async () => {
  expect(await resolver().mx('mail.contoso.example')).toEqual([{ exchange: 'mail.contoso.example', preference: 0 }]);
  await expect(resolver().mx('nowhere.example')).rejects.toBeInstanceOf(DnsError);
  await expect(resolver().a('nowhere.example')).rejects.toBeInstanceOf(DnsError);
});

test('a DNS server that does not answer is not a nonexistent domain: the error is not a DnsError', async () => {
  const silent = new NetworkResolver(`127.0.0.54:${PORT + 1}`, { timeoutMs: 200, tries: 1 });
  const err = await silent.mx('contoso.example').catch((e: unknown) => e);
  // node:dns errors come from another realm under jest, so check the code, not the class
  expect((err as NodeJS.ErrnoException).code).toMatch(/^(ECONNREFUSED|ETIMEOUT)$/);
  expect(err).not.toBeInstanceOf(DnsError);
});

// Asynchronous: the server answers from this same process, so a blocking spawn would starve it.
const dig = async (...args: string[]) =>
  (await promisify(execFile)(tool('dig'), [`@${ADDRESS}`, '-p', String(PORT), '+tries=1', '+time=3', ...args], { encoding: 'utf8' })).stdout.trim();

test('dig, an outside tool, gets the same answers (UDP and TCP)', async () => {
  expect(await dig('+short', 'MX', 'contoso.example')).toBe('10 mail.contoso.example.');
  expect(await dig('+short', 'A', 'mail.contoso.example', '+tcp')).toBe('127.0.0.10');
  const full = await dig('A', 'nowhere.example');
  expect(full).toMatch(/status: NXDOMAIN/);
  expect(full).toMatch(/flags: qr aa/);
});

test('a DNS server whose port is taken fails to start with the bind error, and holds nothing', async () => {
  await expect(TopologyDnsServer.start({ topology, address: ADDRESS, port: PORT })).rejects.toThrow(/EADDRINUSE/);
  // the server that owns the port still answers
  expect(await resolver().a('mail.contoso.example')).toEqual(['127.0.0.10']);
});
