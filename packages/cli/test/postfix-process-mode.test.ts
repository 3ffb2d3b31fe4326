import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AttemptEvent } from '@relaylab/core';
import { loadScenarioFile, runScenariosOnProcesses, type ScenarioResult } from '@relaylab/lab';
import { BIN, freePortBase, repo } from './process-spawn';

// Postfix nodes with one OS process per node: `relaylab node` runs the Postfix master for its
// node, steps (down, up, advance) reach it through the node's control API.
const certsDir = mkdtempSync(join(tmpdir(), 'relaylab-postfix-process-'));
const scenarios = [
  loadScenarioFile(join(repo, 'scenarios', 'postfix', 'postfix-partner-forced-tls.yaml')),
  loadScenarioFile(join(repo, 'packages', 'lab', 'test', 'fixtures', 'postfix', 'eop-down-then-retry.yaml')),
];
let results: ScenarioResult[];

beforeAll(async () => {
  const addresses = [...new Set(scenarios.flatMap((s) => Object.values(s.topology.nodes).map((n) => n.address)))];
  const port = await freePortBase(addresses, [0, 50], { address: '127.0.0.53', offset: 99 });
  results = await runScenariosOnProcesses(scenarios, {
    certsDir,
    spawn: { command: [process.execPath, BIN] },
    port,
    controlPort: port + 50,
    dns: `127.0.0.53:${port + 99}`,
  });
}, 120_000);

test('Postfix scenarios pass with each node in its own process, Postfix included', () => {
  expect(results.map((r) => [r.scenario.name, r.error, r.failures.length])).toEqual(scenarios.map((s) => [s.name, undefined, 0]));
});

test("the Postfix node's process traced its hop: TLS 1.3, verified for the name it matched", () => {
  const attempt = results[0]!.trace.find((e): e is AttemptEvent => e.type === 'attempt' && e.node === 'fabrikam');
  expect(attempt).toMatchObject({ outcome: 'sent', tls: { protocol: 'TLSv1.3' }, certificateVerified: true, verifiedName: 'mail.protection.outlook.example' });
});
