import { join } from 'node:path';
import { explainMessage, type ClassificationSummary } from '@relaylab/core';
import { loadScenarioFile, runScenario, type ScenarioResult } from '@relaylab/lab';
import { repo } from './run-cli';

/**
 * Acceptance (issue 15): `relaylab explain` on messages the lab itself delivered gives the
 * classification the lab's trace recorded. Bundled scenarios run over real sockets; every
 * delivered copy's stored header section is explained and compared with the trace, hop by hop
 * (count, TLS version) and for the classification (AuthAs, directionality, EOP's SFV, internal).
 */

const SCENARIOS = [
  'library/hybrid.yaml',
  'library/mx-onprem.yaml',
  'hybrid-gateway-breaks-internal.yaml',
  'cert-renewed-wrong-name.yaml',
  'tenant-connector-attack.yaml',
];
const results = new Map<string, ScenarioResult>();

beforeAll(async () => {
  for (const s of SCENARIOS) results.set(s, await runScenario(loadScenarioFile(join(repo, 'scenarios', s)), { certsDir: join(repo, 'certs') }));
}, 120_000);

/** The classification a message ended with in the trace: the last Exchange hop's, else the submitting node's. */
function traced(fate: ScenarioResult['fates'][number]['fate']): ClassificationSummary | undefined {
  return [...fate.hops].reverse().find((h) => h.classification?.authAs)?.classification ?? fate.submission;
}

const delivered = () =>
  SCENARIOS.flatMap((s) =>
    results
      .get(s)!
      .fates.filter((f) => f.fate.state === 'delivered' && f.fate.storedHeaders)
      .map((f) => ({ scenario: s, message: f.message, fate: f.fate })),
  );

test('the scenarios ran and delivered messages to explain', () => {
  for (const s of SCENARIOS) expect(results.get(s)!.error).toBeUndefined();
  expect(delivered().length).toBeGreaterThanOrEqual(12);
});

test('every delivered message: same hops, TLS and classification as the trace', () => {
  let compared = 0;
  const mismatches: string[] = [];
  for (const { scenario, message, fate } of delivered()) {
    const e = explainMessage(Buffer.from(fate.storedHeaders!, 'latin1'));
    const where = `${scenario} ${message}`;
    const tlsSeen = e.hops.map((h) => (h.tls === null ? 'none' : (h.tls?.protocol ?? '?')));
    const tlsTraced = fate.hops.map((h) => h.tls);
    if (JSON.stringify(tlsSeen) !== JSON.stringify(tlsTraced))
      mismatches.push(`${where}: hops ${JSON.stringify(tlsSeen)} vs trace ${JSON.stringify(tlsTraced)}`);
    const t = traced(fate);
    const c = e.classification;
    if (c.source === 'none') {
      // Exchange removes its organization headers from mail it sends out of the organization
      // (on premises to the Internet): the copy holds no classification, and the trace shows the
      // last hop ended outside Exchange. Explain must then say it cannot tell, not guess.
      if (fate.hops[fate.hops.length - 1]?.classification) mismatches.push(`${where}: no classification read, yet the last hop was an Exchange node`);
      if (c.authAs !== undefined || c.internal) mismatches.push(`${where}: a classification invented without headers`);
      continue;
    }
    if ((t?.authAs ?? undefined) !== c.authAs) mismatches.push(`${where}: AuthAs ${c.authAs} vs trace ${t?.authAs}`);
    if (c.source === 'organization' && t?.directionality !== c.directionality)
      mismatches.push(`${where}: directionality ${c.directionality} vs trace ${t?.directionality}`);
    if (c.internal !== (t?.authAs === 'Internal')) mismatches.push(`${where}: internal ${c.internal} vs trace ${t?.authAs}`);
    const sfv = [fate.submission, ...fate.hops.map((h) => h.classification)].find((x) => x?.antispam)?.antispam?.sfv;
    if (sfv !== c.filtering?.sfv) mismatches.push(`${where}: SFV ${c.filtering?.sfv} vs trace ${sfv}`);
    compared++;
  }
  expect(mismatches).toEqual([]);
  expect(compared).toBeGreaterThanOrEqual(10);
});

test('what broke internal status is named as the scenario teaches it', () => {
  const causes = (scenario: string, message: string) => {
    const f = delivered().find((d) => d.scenario === scenario && d.message === message)!;
    return explainMessage(Buffer.from(f.fate.storedHeaders!, 'latin1')).classification.causes;
  };
  expect(causes('hybrid-gateway-breaks-internal.yaml', 'm1')).toEqual(['device-in-path']);
  expect(causes('cert-renewed-wrong-name.yaml', 'onprem-to-cloud')).toEqual(['certificate-not-matched']);
  expect(causes('tenant-connector-attack.yaml', 'attack')).toEqual(['foreign-tenant']);
  expect(causes('tenant-connector-attack.yaml', 'own-tenant')).toEqual([]);
  expect(causes('library/hybrid.yaml', 'onprem-to-cloud')).toEqual([]);
});
