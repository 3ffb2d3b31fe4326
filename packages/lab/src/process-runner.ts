import type { Logger } from 'pino';
import type { TraceEvent } from '@relaylab/core';
import type { StoredMessage } from '@relaylab/mta';
import { composeMessage } from './compose';
import { judge } from './judge';
import { ProcessLab, type SpawnOptions } from './process-lab';
import type { ScenarioResult } from './runner';
import type { MessageSpec, Scenario } from './scenario-model';
import { runStep, stepsOf } from './steps';

export interface ProcessRunOptions {
  certsDir: string;
  /** Spawn the DNS and the nodes per scenario; without it, drive nodes already running (compose). */
  spawn?: SpawnOptions;
  relocate?: string;
  port?: number;
  controlPort?: number;
  dns: string;
  logger?: Logger;
  settleTimeoutMs?: number;
  readyTimeoutMs?: number;
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
  const result: ScenarioResult = { scenario, passed: false, checks: 0, failures: [], unaccounted: [], fates: [], trace: [], durationMs: 0 };
  const steps = stepsOf(scenario);
  let lab: ProcessLab | undefined;
  try {
    const l = (lab = await ProcessLab.start({ ...options, topology: scenario.topology }));
    const ids = new Map<string, string>();
    const submit = async (m: MessageSpec) => ids.set(m.id, await l.submit(m.via, { from: m.from, to: m.to, raw: composeMessage(m, scenario.name, new Date()) }));
    const later = new Set(steps.flatMap((s) => (s.kind === 'send' ? [s.message] : [])));
    for (const m of scenario.messages) if (!later.has(m.id)) await submit(m);
    const settleMs = options.settleTimeoutMs ?? 30_000;
    for (const [i, step] of steps.entries()) {
      if (!(await runStep(l, step, settleMs, (id) => submit(scenario.messages.find((m) => m.id === id)!)))) {
        result.error = `the lab did not settle within ${settleMs / 1000}s at steps[${i}] (${step.kind})`;
        break;
      }
    }
    if (!result.error && !(await l.settle(settleMs))) result.error = `the lab did not settle within ${settleMs / 1000}s`;

    const events: TraceEvent[] = l.events;
    result.trace = events;
    const stored = new Map<string, StoredMessage[]>();
    for (const name of l.nodeNames) stored.set(name, await l.mailbox(name));
    const read = (node: string, mailbox: string, id: string) =>
      stored.get(node)?.find((m) => m.recipient.toLowerCase() === mailbox.toLowerCase() && m.messageId === id)?.raw;
    Object.assign(result, judge(scenario, ids, events, (ip, port) => l.nodeAt(ip, port), read));
  } catch (err) {
    result.error = (err as Error).message;
  } finally {
    await lab?.stop();
  }
  result.durationMs = Date.now() - started;
  result.passed = !result.error && result.failures.length === 0 && result.unaccounted.length === 0;
  return result;
}

/** One after another: every scenario's nodes use the same fixed addresses and ports. */
export async function runScenariosOnProcesses(scenarios: Scenario[], options: ProcessRunOptions & { onResult?: (r: ScenarioResult) => void }): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const s of scenarios) {
    const r = await runScenarioOnProcesses(s, options);
    options.onResult?.(r);
    results.push(r);
  }
  return results;
}
