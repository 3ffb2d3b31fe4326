import type { TraceEvent } from '@relaylab/core';
import type { StoredMessage } from '@relaylab/mta';
import { composeMessage } from './compose';
import { judge } from './judge';
import { ProcessLab, type ProcessLabOptions } from './process-lab';
import { emptyResult, type ScenarioResult } from './runner';
import type { MessageSpec, Scenario } from './scenario-model';
import { relocateScenario } from './relocate';
import { playScenario } from './steps';

/** What ProcessLab needs, less the topology (each scenario brings its own), plus how long to wait. */
export interface ProcessRunOptions extends Omit<ProcessLabOptions, 'topology'> {
  settleTimeoutMs?: number;
}

/**
 * One scenario against a lab of separate processes. The steps are runScenario's (submit, steps,
 * settle, fates, accounting, expectations, NDRs) with calls that cross process boundaries; fates
 * and checks are the same functions over the same trace format, so both modes judge alike.
 * Mailboxes are read once, after the lab settled, so the checks stay synchronous as they are
 * embedded.
 */
export async function runScenarioOnProcesses(scenario: Scenario, options: ProcessRunOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const result = emptyResult(scenario, []);
  let lab: ProcessLab | undefined;
  try {
    // The lab moves its own topology; what the scenario sends and expects moves with it here, so
    // that it holds at any address plan (see relocateScenario).
    const played = options.relocate ? relocateScenario(scenario, options.relocate) : scenario;
    const l = (lab = await ProcessLab.start({ ...options, topology: scenario.topology }));
    const ids = new Map<string, string>();
    const submit = async (m: MessageSpec) => ids.set(m.id, await l.submit(m.via, { from: m.from, to: m.to, raw: composeMessage(m, played.name, new Date()) }));
    result.error = await playScenario(l, played, submit, options.settleTimeoutMs ?? 30_000);

    const events: TraceEvent[] = l.events;
    result.trace = events;
    const stored = new Map<string, StoredMessage[]>();
    for (const name of l.nodeNames) stored.set(name, await l.mailbox(name));
    const read = (node: string, mailbox: string, id: string) =>
      stored.get(node)?.find((m) => m.recipient.toLowerCase() === mailbox.toLowerCase() && m.messageId === id)?.raw;
    Object.assign(
      result,
      judge(played, ids, events, (ip, port) => l.nodeAt(ip, port), read),
    );
  } catch (err) {
    result.error = (err as Error).message;
  } finally {
    await lab?.stop();
  }
  result.durationMs = Date.now() - started;
  result.passed = !result.error && result.failures.length === 0 && result.unaccounted.length === 0;
  return result;
}

/**
 * One after another: every scenario's nodes use the same fixed addresses and ports. `signal`
 * ends the run after the scenario in progress (its processes stopped), e.g. when a caller gives up.
 */
export async function runScenariosOnProcesses(
  scenarios: Scenario[],
  options: ProcessRunOptions & { onResult?: (r: ScenarioResult) => void; signal?: AbortSignal },
): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const s of scenarios) {
    if (options.signal?.aborted) break;
    const r = await runScenarioOnProcesses(s, options);
    options.onResult?.(r);
    results.push(r);
  }
  return results;
}
