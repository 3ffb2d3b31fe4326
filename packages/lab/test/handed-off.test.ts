import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatFailure, loadScenarioFile, runScenario, type Scenario } from '@relaylab/lab';

/**
 * Mail whose next hop no lab node serves ends `handedOff` with the host, decided at routing: no
 * connection is opened to it, the spool forgets it, and the judge counts it as a final state.
 */

const certsDir = mkdtempSync(join(tmpdir(), 'relaylab-handed-off-'));
const base = loadScenarioFile(resolve(__dirname, '../../../scenarios/mail-handed-off-outside-lab.yaml'));

test('the bundled scenario: handedOff with the host, no attempt towards it, nothing left queued', async () => {
  const result = await runScenario(base, { certsDir });
  expect(result.failures.map(formatFailure)).toEqual([]);
  expect(result.unaccounted).toEqual([]);
  const handed = result.trace.filter((e) => e.type === 'handedOff');
  expect(handed.map((e) => e.type === 'handedOff' && [e.node, e.host, e.ip, e.recipients])).toEqual([
    ['eop', 'mail.northwind.example', undefined, ['nina@northwind.example']],
    ['onprem', 'mail.northwind.example', undefined, ['nina@northwind.example']],
  ]);
  expect(handed[0]).toMatchObject({
    reason: expect.stringMatching(/which no lab node serves: handed off outside the lab at the routing decision, nothing sent$/),
  });
  expect(result.trace.filter((e) => e.type === 'attempt' && e.destination.host === 'mail.northwind.example')).toEqual([]);
  expect(result.trace.filter((e) => e.type === 'deferred')).toEqual([]);
  const fate = result.fates.find((f) => f.message === 'from-cloud')!.fate;
  expect(fate).toMatchObject({ state: 'handedOff', handedOffTo: 'mail.northwind.example', node: 'eop', finalStates: ['handedOff'] });
}, 60_000);

test('an MX with a loopback address no node listens on is handed off with that address, not retried for days', async () => {
  const scenario: Scenario = {
    ...base,
    name: 'handed-off-with-address',
    topology: { ...base.topology, dns: { ...base.topology.dns, a: { 'mail.northwind.example': '127.0.0.199' } } },
    expect: [{ message: 'from-cloud', state: 'handedOff', host: 'mail.northwind.example' }, ...base.expect.slice(1)],
  };
  const result = await runScenario(scenario, { certsDir });
  expect(result.failures.map(formatFailure)).toEqual([]);
  expect(result.trace.find((e) => e.type === 'handedOff' && e.node === 'eop')).toMatchObject({ host: 'mail.northwind.example', ip: '127.0.0.199' });
}, 60_000);

test('an expectation of another host, or of handedOff for mail the lab delivered, fails', async () => {
  const scenario: Scenario = {
    ...base,
    name: 'handed-off-wrong-expectations',
    expect: [
      { message: 'from-cloud', state: 'handedOff', host: 'mx.northwind.example' },
      { message: 'from-onprem', recipient: 'tom@tailspin.example', state: 'handedOff', host: 'mx.tailspin.example' },
    ],
  };
  const result = await runScenario(scenario, { certsDir });
  expect(result.failures.map((f) => [f.subject, f.field, f.actual])).toEqual([
    ['from-cloud → nina@northwind.example', 'host', 'mail.northwind.example'],
    ['from-onprem → tom@tailspin.example', 'state', 'delivered'],
    ['from-onprem → tom@tailspin.example', 'host', '(not handed off: delivered)'],
  ]);
}, 60_000);
