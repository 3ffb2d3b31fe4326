import type { Logger } from 'pino';
import { MemoryTrace, VirtualClock, type TraceEvent } from '@relaylab/core';
import { Pki } from '@relaylab/pki';
import type { Failure } from './assertions';
import { composeMessage } from './compose';
import { Lab } from './lab';
import type { Fate } from './outcomes';
import type { MessageSpec, Scenario } from './scenario-model';
import { playScenario } from './steps';
import { judge, type ExpectationResult } from './judge';

export interface ScenarioResult {
  scenario: Scenario;
  passed: boolean;
  checks: number;
  failures: Failure[];
  /** A problem that stopped the scenario (ports, certificates, settling). */
  error?: string;
  /** Messages that ended in no final state or were delivered twice, by scenario message id. */
  unaccounted: string[];
  fates: Array<{ message: string; recipient: string; fate: Fate }>;
  /** Each expectation × recipient with its verdict; its failures are the objects in `failures`. */
  expectations: ExpectationResult[];
  /** Scenario message id → the Message-ID it travelled under. */
  messageIds: Record<string, string>;
  trace: TraceEvent[];
  durationMs: number;
}

/** A result before the scenario ran: nothing judged, not passed. Both runners start from it. */
export function emptyResult(scenario: Scenario, trace: TraceEvent[]): ScenarioResult {
  return { scenario, passed: false, checks: 0, failures: [], unaccounted: [], fates: [], expectations: [], messageIds: {}, trace, durationMs: 0 };
}

export interface RunOptions {
  certsDir: string;
  pki?: Pki;
  logger?: Logger;
  settleTimeoutMs?: number;
}

export async function runScenario(scenario: Scenario, options: RunOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const trace = new MemoryTrace();
  const result = emptyResult(scenario, trace.events);
  let lab: Lab | undefined;
  try {
    // Greeting at once, as Exchange does: a scenario's clients never talk first, and a day of retries opens a connection each.
    const timeouts = { greetingPauseMs: 0 };
    const clock = new VirtualClock();
    lab = await Lab.start(scenario.topology, { certsDir: options.certsDir, pki: options.pki, trace, clock, logger: options.logger, timeouts });
    const ids = new Map<string, string>();
    const submit = (m: MessageSpec) => ids.set(m.id, lab!.submit(m.via, { from: m.from, to: m.to, raw: composeMessage(m, scenario.name, lab!.clock.now()) }));
    result.error = await playScenario(lab, scenario, submit, options.settleTimeoutMs ?? 30_000);

    const l = lab;
    Object.assign(
      result,
      judge(
        scenario,
        ids,
        trace.events,
        (ip, port) => l.nodeAt(ip, port),
        (node, mailbox, id) =>
          l
            .node(node)
            .mailboxes.get(mailbox)
            .find((m) => m.messageId === id)?.raw,
      ),
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

export interface RunScenariosOptions extends RunOptions {
  concurrency?: number;
  /** Hears each scenario as it ends, with its whole trace: the place to report on it. */
  onResult?: (r: ScenarioResult) => void;
  /**
   * `verdicts`: once onResult has had a result, the runner keeps it without its trace (`trace: []`),
   * so a run holds the trace of the scenarios in flight only, not of every one that ended.
   * Default `all`: results come back whole.
   */
  keep?: 'all' | 'verdicts';
}

/** A finished result as a run keeps it once reported: its verdicts, not its trace. */
export function withoutTrace(r: ScenarioResult): ScenarioResult {
  return { ...r, trace: [] };
}

/** Scenarios own their labs, so they share no node state and run side by side. */
export async function runScenarios(scenarios: Scenario[], options: RunScenariosOptions): Promise<ScenarioResult[]> {
  // One certificate factory for the run, so labs started side by side never mint the same CA twice.
  options = { ...options, pki: options.pki ?? new Pki({ dir: options.certsDir }) };
  const results: ScenarioResult[] = new Array(scenarios.length);
  let next = 0;
  const worker = async () => {
    while (next < scenarios.length) {
      const i = next++;
      const result = await runScenario(scenarios[i]!, options);
      options.onResult?.(result);
      results[i] = options.keep === 'verdicts' ? withoutTrace(result) : result;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  return results;
}
