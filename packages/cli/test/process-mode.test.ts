import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarios, runScenario, runScenariosOnProcesses, runsOnProcesses, type ScenarioResult } from '@relaylab/lab';
import { Pki } from '@relaylab/pki';
import { BIN, freePortBase, repo } from './process-spawn';

// The bundled scenarios whose topologies are the hybrid ones (Exchange Online, on premises,
// partners), each node in its own OS process, against the same scenarios embedded. Scenarios
// that inject wire faults (down, fail, slow, ...) are embedded-only for now and are left out.
const HYBRID = /topologies\/(hybrid|onprem-hybrid|partner-tls)\.yaml$/;
const certsDir = mkdtempSync(join(tmpdir(), 'relaylab-process-'));
const scenarios = loadScenarios([join(repo, 'scenarios')]).scenarios.filter((s) => HYBRID.test(s.topologyFile ?? '') && runsOnProcesses(s));

/** What must agree between the modes: where each message ended, how, and over which hops. */
function fates(results: ScenarioResult[]) {
  return results.flatMap((r) =>
    r.fates.map(({ message, recipient, fate }) => ({
      scenario: r.scenario.name,
      message,
      recipient,
      state: fate.state,
      node: fate.node,
      mailbox: fate.mailbox,
      reply: fate.reply,
      path: fate.path,
      hops: fate.hops.map((h) => ({ from: h.from, to: h.to, tls: h.tls, verified: h.certificateVerified, out: h.outboundConnector, in: h.inboundConnector })),
    })),
  );
}

let processes: ScenarioResult[];
let port: number;
let embedded: ScenarioResult[];

beforeAll(async () => {
  expect(scenarios.map((s) => s.name)).toEqual(expect.arrayContaining(['onprem-to-cloud-forced-tls', 'partner-forced-tls-inbound']));
  const pki = new Pki({ dir: certsDir });
  embedded = [];
  for (const s of scenarios) embedded.push(await runScenario(s, { certsDir, pki }));
  // SMTP on base (+1, +2 for nodes sharing an address), control on base+50…, DNS on base+99
  const addresses = [...new Set(scenarios.flatMap((s) => Object.values(s.topology.nodes).map((n) => n.address)))];
  port = await freePortBase(addresses, [0, 1, 2, 50, 51, 52], { address: '127.0.0.53', offset: 99 });
  processes = await runScenariosOnProcesses(scenarios, {
    certsDir,
    spawn: { command: [process.execPath, BIN] },
    port,
    controlPort: port + 50,
    dns: `127.0.0.53:${port + 99}`,
  });
}, 180_000);

test('every hybrid scenario passes with one OS process per node', () => {
  const failed = processes.filter((r) => !r.passed).map((r) => `${r.scenario.name}: ${r.error ?? ''} ${JSON.stringify(r.failures.map((f) => [f.subject, f.field, f.actual]))}`);
  expect(failed).toEqual([]);
  const checks = (rs: ScenarioResult[]) => Object.fromEntries(rs.map((r) => [r.scenario.name, r.checks]));
  expect(checks(processes)).toEqual(checks(embedded));
});

test('the fates gathered across processes are the embedded lab’s, hop for hop', () => {
  expect(embedded.every((r) => r.passed)).toBe(true);
  expect(fates(processes)).toEqual(fates(embedded));
});

test('the trace crossed the process boundary: each node’s events came from its own process', () => {
  const partner = processes.find((r) => r.scenario.name === 'partner-forced-tls-inbound')!;
  const received = partner.trace.find((e) => e.type === 'received' && e.node === 'eop');
  expect(received).toMatchObject({ remote: { ip: '127.0.0.30' }, local: { ip: '127.0.0.20', port }, tls: { secure: true } });
  const attempt = partner.trace.find((e) => e.type === 'attempt' && e.node === 'fabrikam');
  expect(attempt).toMatchObject({ destination: { ip: '127.0.0.20', port }, outcome: 'sent' });
});
