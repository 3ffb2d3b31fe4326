import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatFailure, loadScenarioFile, runScenario, ScenarioFileError, type Scenario } from '@relaylab/lab';

/**
 * A pass-through device (role passthrough) between on premises and Exchange Online, over real
 * sockets: it forwards TCP from the client's own address, TLS runs end to end, and the hop is
 * on premises → EOP with the device in `via`.
 */

const certsDir = mkdtempSync(join(tmpdir(), 'relaylab-passthrough-'));
const file = resolve(__dirname, '../../../scenarios/hybrid-passthrough-stays-internal.yaml');
const base = loadScenarioFile(file);

test('the device forwards from the client address; EOP sees on premises and classifies Internal', async () => {
  const result = await runScenario(base, { certsDir });
  expect(result.failures.map(formatFailure)).toEqual([]);
  const attempt = result.trace.find((e) => e.type === 'attempt' && e.node === 'onprem');
  const forwarded = result.trace.find((e) => e.type === 'forwarded');
  const received = result.trace.find((e) => e.type === 'received' && e.node === 'eop');
  if (attempt?.type !== 'attempt' || forwarded?.type !== 'forwarded' || received?.type !== 'received') throw new Error('missing events');
  // on premises connected to the device …
  expect(attempt.destination).toMatchObject({ host: 'lb.contoso.example', ip: '127.0.0.41' });
  // … which joined that connection to its own, bound to the client's address …
  expect(forwarded).toMatchObject({ node: 'lb', to: 'eop', client: attempt.local, local: { ip: '127.0.0.10' }, target: received.local });
  // … so EOP read the client's address, on the device's onward port, and the client's certificate
  expect(received.remote).toEqual(forwarded.local);
  expect(received.tls.secure).toBe(true);
  expect(received).toMatchObject({ connector: 'Inbound from on-premises', clientCertificateVerified: true });
}, 60_000);

test('the device is no SMTP hop: a hop expectation to it fails, and `via` is checked', async () => {
  const scenario: Scenario = {
    ...base,
    name: 'passthrough-wrong-hops',
    expect: [
      { message: 'm1', state: 'delivered', hops: [{ from: 'onprem', to: 'lb' }] },
      { message: 'm1', state: 'delivered', hops: [{ from: 'onprem', to: 'eop', via: [] }] },
    ],
  };
  const result = await runScenario(scenario, { certsDir });
  expect(result.failures.map((f) => [f.field, f.actual])).toEqual([
    ['hops[0]', 'onprem → eop'],
    ['hops[0].via', ['lb']],
  ]);
}, 60_000);

describe('a pass-through device in a topology', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-passthrough-files-'));
  const load = (lb: string): string[] => {
    const f = join(dir, `t${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(
      f,
      [
        `topology: ${resolve(__dirname, '../../../scenarios/topologies/hybrid.yaml')}`,
        'patch:',
        '  nodes:',
        `    lb: { role: passthrough, hostname: lb.contoso.example, address: 127.0.0.41${lb} }`,
        'messages:',
        '  - { id: m, from: alice@contoso.example, to: [carol@contoso.example], via: onprem }',
        'expect:',
        '  - { message: m, state: delivered }',
        '',
      ].join('\n'),
    );
    try {
      loadScenarioFile(f);
    } catch (error) {
      if (error instanceof ScenarioFileError) return error.issues.map((i) => `${i.field}: ${i.message}`);
      throw error;
    }
    return [];
  };

  test('needs forwardTo naming a node, no loop, and no mail of its own', () => {
    expect(load('')).toEqual(['patch.nodes.lb.role: a pass-through device needs forwardTo: the node it forwards every connection to']);
    expect(load(', forwardTo: eopp')).toEqual([expect.stringMatching(/^patch\.nodes\.lb\.forwardTo: unknown node "eopp"/)]);
    expect(load(', forwardTo: lb')).toEqual(['patch.nodes.lb.forwardTo: pass-through devices forward to each other in a loop: lb → lb']);
    expect(load(', forwardTo: eop, mailboxes: [x@contoso.example]')).toEqual([
      'patch.nodes.lb.mailboxes: a pass-through device forwards TCP and speaks no SMTP: it has no mailboxes',
    ]);
    expect(load(', forwardTo: eop')).toEqual([]);
  });
});
