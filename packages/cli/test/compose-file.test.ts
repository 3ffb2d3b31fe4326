import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { ipListed } from '@relaylab/core';
import { loadScenarios, loadTopologyFile, relocateText, relocateTopology } from '@relaylab/lab';
import { freePortBase, repo, startRelaylab, type Running } from './process-spawn';
import { tool } from '../../mta/test/debian-tools';

interface Service {
  command: string[];
  environment: Record<string, string>;
  networks: string[] | Record<string, { ipv4_address?: string } | null>;
  depends_on?: string[] | Record<string, { condition: string }>;
}

const compose = parse(readFileSync(join(repo, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  networks: { lab: { ipam: { config: Array<{ subnet: string; ip_range: string }> } } };
};
const services = compose.services;
const env = services.certs.environment;
const prefix = env.RELAYLAB_RELOCATE;
const topologyFile = join(repo, env.RELAYLAB_CONFIG);
const topology = loadTopologyFile(topologyFile);
const [{ subnet, ip_range: dynamic }] = compose.networks.lab.ipam.config;
const addressOf = (s: Service) => (Array.isArray(s.networks) ? undefined : s.networks.lab?.ipv4_address);
const nodeNames = Object.keys(topology.nodes);

test('one service per node of the topology, plus dns, certs and runner, all from one image and one environment', () => {
  expect(Object.keys(services).sort()).toEqual([...nodeNames, 'certs', 'dns', 'runner'].sort());
  for (const s of Object.values(services)) {
    expect(s.environment).toEqual(env);
    expect((s as unknown as { image: string }).image).toBe('relaylab:local');
  }
  expect(existsSync(join(repo, 'Dockerfile'))).toBe(true);
});

test('every node runs `relaylab node` for itself at its relocated topology address, after certs and dns', () => {
  expect(prefix).toMatch(/^\d+\.\d+$/);
  expect(`${prefix}.0.0/16`).toBe(subnet);
  for (const [name, spec] of Object.entries(topology.nodes)) {
    const s = services[name];
    expect(s.command).toEqual(['node', '--node', name]);
    expect(addressOf(s)).toBe(relocateText(spec.address, prefix));
    expect(s.depends_on).toEqual({ certs: { condition: 'service_completed_successfully' }, dns: { condition: 'service_started' } });
  }
});

test('fixed addresses are unique, inside the subnet, and outside the range Docker hands out', () => {
  const fixed = Object.values(services)
    .map(addressOf)
    .filter((a): a is string => !!a);
  expect(new Set(fixed).size).toBe(fixed.length);
  for (const a of fixed) {
    expect(ipListed(a, [subnet])).toBe(true);
    expect(ipListed(a, [dynamic])).toBe(false);
  }
  // the relocation moves the connectors' IPs too: the printer's relay connector still names the printer
  const moved = relocateTopology(topology, prefix);
  const relay = moved.nodes.onprem.receiveConnectors?.find((c) => c.Name === 'Relay for devices');
  expect(relay?.RemoteIPRanges).toEqual([moved.nodes.printer.address]);
});

// Every scenario of the bundled suite that runs on this topology, as embedded mode runs them.
const onThisTopology = loadScenarios([join(repo, 'scenarios')])
  .scenarios.filter((s) => s.topologyFile === topologyFile)
  .map((s) => s.name);

test('the DNS service listens where the nodes look for it; the runner drives the running nodes with every scenario of this topology', () => {
  expect(services.dns.command).toEqual(['dns', '--listen', env.RELAYLAB_DNS]);
  expect(`${addressOf(services.dns)}:53`).toBe(env.RELAYLAB_DNS);
  const [verb, ...args] = services.runner.command;
  expect(verb).toBe('drive');
  expect(args).toContain('--attach');
  // `drive` takes the whole suite and keeps the scenarios on RELAYLAB_CONFIG's topology (--config)
  expect(args).toContain('scenarios');
  expect(onThisTopology.length).toBeGreaterThan(0);
  expect(services.runner.depends_on).toEqual(expect.arrayContaining(nodeNames));
});

test('docker-compose config accepts the file', async () => {
  const { stdout } = await promisify(execFile)(tool('docker-compose'), ['-f', join(repo, 'docker-compose.yml'), 'config', '--services'], { encoding: 'utf8' });
  expect(stdout.trim().split('\n').sort()).toEqual(Object.keys(services).sort());
});

describe('the compose services’ own commands and environment, run as processes on loopback', () => {
  // The same commands, relocated to 127.30.y.z instead of 172.30.y.z: still loopback, so they run
  // where no Docker engine is, and still a real move of every address, so a scenario that only
  // held at the file's own addresses fails here as it did on a real engine.
  const loopback = '127.30';
  const local: Record<string, string> = { ...env, RELAYLAB_RELOCATE: loopback, RELAYLAB_CERTS: mkdtempSync(join(tmpdir(), 'relaylab-compose-')) };
  beforeAll(async () => {
    const moved = relocateTopology(topology, loopback);
    const dns = relocateText('127.0.0.53', loopback);
    const base = await freePortBase(
      Object.values(moved.nodes).map((n) => n.address),
      [0, 50],
      { address: dns, offset: 99 },
    );
    Object.assign(local, { RELAYLAB_PORT: String(base), RELAYLAB_CONTROL_PORT: String(base + 50), RELAYLAB_DNS: `${dns}:${base + 99}` });
  });
  const localize = (arg: string) => (arg === env.RELAYLAB_DNS ? local.RELAYLAB_DNS : arg.split(`${prefix}.`).join(`${loopback}.`));
  const run = (name: string) => startRelaylab(services[name].command.map(localize), local);
  const running: Running[] = [];
  afterAll(() => Promise.all(running.map((r) => r.stop())));

  test('certs, then dns and the nodes, then the runner exits 0 with every scenario passed', async () => {
    const certs = run('certs');
    expect(await certs.exited).toBe(0);
    running.push(run('dns'), ...nodeNames.map(run));
    const runner = run('runner');
    const code = await runner.exited;
    for (const name of onThisTopology) expect(runner.stdout()).toContain(`✓ PASS ${name}`); // on failure, shows what failed
    expect(code).toBe(0);
    expect(runner.stdout().trim().split('\n').pop()).toBe(`${onThisTopology.length} passed, 0 failed`);
  }, 60_000);
});
