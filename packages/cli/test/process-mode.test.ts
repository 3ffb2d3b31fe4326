import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarios, runScenario, runScenariosOnProcesses, type ScenarioResult } from '@relaylab/lab';
import { Pki } from '@relaylab/pki';
import { BIN, freePortBase, repo } from './process-spawn';

// Bundled scenarios on the hybrid topologies (Exchange Online, on premises, partners), each node
// in its own OS process, against the same scenarios embedded, fault steps included: down/up, fail
// and dropDuringData go through each node's control API, and a stripStartTls detour is a proxy
// that the sending node's process sets up for itself. One scenario per mechanism that crosses the
// process boundary (every node process costs about half a second of CPU to start, so running all
// of them here would dominate the suite): faults, the lab clock's events across processes, hop
// order from interleaved traces, a pass-through device, chains, Exchange's replies.
const HYBRID = /topologies\/(hybrid|onprem-hybrid|partner-tls)\.yaml$/;
const FAULTS = ['hybrid-onprem-down-3-hours', 'hybrid-onprem-down-past-expiry', 'hybrid-drop-mid-data', 'hybrid-starttls-stripped'];
const CHOSEN = [
  ...FAULTS,
  'onprem-to-cloud-forced-tls',
  'partner-forced-tls-inbound',
  'tenant-connector-attack-mitigated',
  'hybrid-passthrough-stays-internal',
  'hybrid-onprem-back-at-20-hours',
  'hybrid-delay-notice',
  'cert-missing-intermediate',
  'exchange-smtp-conversation',
];
const certsDir = mkdtempSync(join(tmpdir(), 'relaylab-process-'));
const scenarios = loadScenarios([join(repo, 'scenarios')]).scenarios.filter((s) => HYBRID.test(s.topologyFile ?? '') && CHOSEN.includes(s.name));

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
let running: Promise<ScenarioResult[]> | undefined;
const abort = new AbortController();

beforeAll(async () => {
  expect(scenarios.map((s) => s.name).sort()).toEqual([...CHOSEN].sort());
  const pki = new Pki({ dir: certsDir });
  embedded = [];
  for (const s of scenarios) embedded.push(await runScenario(s, { certsDir, pki }));
  // SMTP on base (+1, +2 for nodes sharing an address), control on base+50…, DNS on base+99
  const addresses = [...new Set(scenarios.flatMap((s) => Object.values(s.topology.nodes).map((n) => n.address)))];
  port = await freePortBase(addresses, [0, 1, 2, 50, 51, 52], { address: '127.0.0.53', offset: 99 });
  processes = await (running = runScenariosOnProcesses(scenarios, {
    certsDir,
    spawn: { command: [process.execPath, BIN] },
    port,
    controlPort: port + 50,
    dns: `127.0.0.53:${port + 99}`,
    signal: abort.signal,
  }));
}, 300_000);

// Should the hook time out, the run would go on: it ends after the scenario in progress, whose
// node processes stop within its own time limits, and waiting for that lets Jest exit by itself.
afterAll(async () => {
  abort.abort();
  await running?.catch(() => undefined);
}, 60_000);

test('each chosen hybrid scenario passes with one OS process per node', () => {
  const failed = processes
    .filter((r) => !r.passed)
    .map((r) => `${r.scenario.name}: ${r.error ?? ''} ${JSON.stringify(r.failures.map((f) => [f.subject, f.field, f.actual]))}`);
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

test('faults cross the process boundary: each is recorded by the node it was done to', () => {
  const kinds = (name: string) => processes.find((r) => r.scenario.name === name)!.trace.flatMap((e) => (e.type === 'fault' ? [`${e.node}:${e.fault}`] : []));
  expect(kinds('hybrid-onprem-down-3-hours')).toEqual(expect.arrayContaining(['onprem:down', 'onprem:up']));
  expect(kinds('hybrid-drop-mid-data')).toEqual(expect.arrayContaining(['onprem:dropDuringData', 'onprem:fail']));
  // The detour eop→onprem is eop's alone: the proxy stripped STARTTLS, and only for eop's connections.
  const stripped = processes
    .find((r) => r.scenario.name === 'hybrid-starttls-stripped')!
    .trace.filter((e) => e.type === 'fault' && e.fault === 'stripStartTls');
  expect(stripped.map((e) => e.node)).toEqual(expect.arrayContaining(['eop', 'onprem']));
});
