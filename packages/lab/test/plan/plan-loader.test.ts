import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadPlanFile, ScenarioFileError, type FileIssue } from '@relaylab/lab';

const plansDir = resolve(__dirname, '../../../../scenarios/plans');
const topologies = resolve(__dirname, '../../../../scenarios/topologies');
const dir = mkdtempSync(join(tmpdir(), 'relaylab-plan-loader-'));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text.replace(/TOPOLOGIES/g, topologies));
  return file;
}

function issuesOf(file: string): Array<Pick<FileIssue, 'line' | 'field' | 'message'>> {
  try {
    loadPlanFile(file);
  } catch (error) {
    if (error instanceof ScenarioFileError) return error.issues.map(({ line, field, message }) => ({ line, field, message }));
    throw error;
  }
  throw new Error('expected a ScenarioFileError, but the plan loaded');
}

const head = `topology: TOPOLOGIES/hybrid.yaml
duration: 4h
traffic:
  onprem-to-cloud: { from: onprem, to: carol@contoso.example, every: 10m }
`;

test('every bundled plan loads', () => {
  const files = readdirSync(plansDir).filter((f) => f.endsWith('.yaml'));
  expect(files.length).toBeGreaterThanOrEqual(4);
  for (const f of files) expect(() => loadPlanFile(join(plansDir, f))).not.toThrow();
});

test('a plan is read into changes on the lab clock, each topology change with the nodes it remakes', () => {
  const plan = loadPlanFile(join(plansDir, 'hybrid-cert-renewed-then-connectors.yaml'));
  expect(plan.timeline.map((c) => [c.atMs, c.kind, c.kind === 'topology' ? c.nodes : []])).toEqual([
    [2 * 3600_000, 'topology', ['onprem']],
    [2.5 * 3600_000, 'topology', ['eop']],
    [2.5 * 3600_000, 'topology', ['eop']],
  ]);
  const last = plan.timeline[2]!;
  expect(last.kind === 'topology' && last.topology.nodes.eop!.outboundConnectors![0]!.TlsDomain).toBe('mail2.contoso.example');
  // the first change is still in the later topology: changes apply one after the other
  expect(last.kind === 'topology' && last.topology.certificates!.onprem!.subject).toBe('mail2.contoso.example');
  expect(plan.directions.map((d) => [d.name, d.sender, d.intervalMs])).toEqual([
    ['onprem-to-cloud', 'alice@contoso.example', 600_000],
    ['cloud-to-onprem', 'carol@contoso.example', 600_000],
    ['internet-to-cloud', 'tom@tailspin.example', 900_000],
  ]);
});

test('a connector the node does not have is reported at the change, with the names it has', () => {
  const file = write(
    'bad-connector.yaml',
    `${head}timeline:
  - at: 1h
    set: { node: eop, inboundConnector: From on-prem, TlsSenderCertificateName: mail2.contoso.example }
checkpoints:
  - at: 4h
`,
  );
  expect(issuesOf(file)).toEqual([
    {
      line: 7,
      field: 'timeline[0].set.inboundConnector',
      message: 'eop has no inboundConnector named "From on-prem"; its inboundConnectors are Inbound from on-premises',
    },
  ]);
});

test('a change that leaves a broken topology is refused where the change is written', () => {
  const file = write(
    'bad-value.yaml',
    `${head}timeline:
  - at: 1h
    set: { node: eop, outboundConnector: Outbound to on-premises, TlsSettings: Sometimes }
checkpoints:
  - at: 4h
`,
  );
  const issues = issuesOf(file);
  expect(issues).toHaveLength(1);
  expect(issues[0]).toMatchObject({ line: 7, field: 'timeline[0].set' });
  expect(issues[0]!.message).toMatch(/expected one of .*DomainValidation.*; found "Sometimes"/);
});

test('unknown directions, two actions in one change, a bad duration and checkpoints out of order are each reported', () => {
  const file = write(
    'many.yaml',
    `${head}timeline:
  - at: 1h
    down: onprem
    up: onprem
  - at: soon
    heal: onprem
checkpoints:
  - at: 3h
    directions:
      onprem-to-clod: { delivered: 100% }
  - at: 2h
    directions:
      onprem-to-cloud: { delivered: 0% }
`,
  );
  const issues = issuesOf(file);
  expect(issues.map((i) => [i.line, i.field])).toEqual([[9, 'timeline[1].at']]);
  expect(issues[0]!.message).toMatch(/expected a lab time/);
  const file2 = write('many2.yaml', readFileSync(file, 'utf8').replace('  - at: soon\n    heal: onprem\n', ''));
  const issues2 = issuesOf(file2);
  expect(issues2.map((i) => [i.line, i.field, i.message])).toEqual([
    [
      6,
      'timeline[0]',
      'a change does one thing; found down, up (one of set, add, remove, dns, certificate, patch, down, up, heal, fail, dropDuringData, tlsHandshakeFails, slow, stripStartTls)',
    ],
    [12, 'checkpoints[0].directions.onprem-to-clod', 'no direction named "onprem-to-clod" under traffic (did you mean "onprem-to-cloud"?)'],
    [13, 'checkpoints[1].at', 'checkpoints go in lab-time order; this one is not after the one before it'],
    [15, 'checkpoints[1].directions.onprem-to-cloud.delivered', 'at least 0% always holds; to assert that mail is not delivered write "<= 0%"'],
  ]);
});

test('a DNS change is checked as a topology DNS section is, and reported where the change writes it', () => {
  const file = write(
    'bad-dns.yaml',
    `${head}timeline:
  - at: 10m
    dns: { mx: { contoso.example: 12 }, ttl: 5m }
checkpoints:
  - at: 4h
`,
  );
  expect(issuesOf(file)).toEqual([{ line: 7, field: 'timeline[0].dns.mx["contoso.example"]', message: 'expected a list; found 12' }]);
});
