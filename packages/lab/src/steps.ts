import { advanceThroughEvents } from '@relaylab/core';
import type { FaultCommand } from '@relaylab/mta';
import type { Scenario, Step } from './scenario-model';

/**
 * What a lab must offer to carry out a scenario's steps. The embedded Lab does it with method
 * calls on nodes in this process; the ProcessLab with calls to each node's control API. Both run
 * the steps through runStep below, so the two modes cannot drift apart step by step.
 */
export interface StepTarget {
  /** Every node idle; false if that took longer than `timeoutMs`. */
  settle(timeoutMs: number): Promise<boolean>;
  /**
   * How long until the earliest moment any node has something due (a retry, an expiry, a delay
   * notice), each node reckoning on its own clock; undefined when nothing is pending.
   */
  dueIn(): Promise<number | undefined>;
  /** Moves every node's clock forward; no queue runs yet. */
  moveClock(ms: number): void | Promise<void>;
  /** Every queue does what is due now. */
  kick(): void | Promise<void>;
  /** The node's listener closes and it delivers nothing; its queue and spool stay. */
  down(node: string): Promise<void>;
  /** Back on the same address and port, with what it held. */
  up(node: string): Promise<void>;
  heal(node: string): void | Promise<void>;
  failCommand(node: string, command: FaultCommand, reply: string, times?: number): void | Promise<void>;
  dropDuringData(node: string, times?: number): void | Promise<void>;
  tlsHandshakeFails(node: string, times?: number): void | Promise<void>;
  slow(node: string, delayMs: number): void | Promise<void>;
  /** `from` reaches `to` through a man in the middle that strips STARTTLS; nobody else is detoured. */
  stripStartTls(from: string, to: string): Promise<void>;
}

/** `advance:` is short for one advance step. */
export function stepsOf(scenario: Scenario): Step[] {
  if (scenario.steps) return scenario.steps;
  return scenario.advanceMs ? [{ kind: 'advance', ms: scenario.advanceMs, text: `${scenario.advanceMs}ms` }] : [];
}

/** Carries out one step; false when the lab did not settle in time. */
export async function runStep(lab: StepTarget, step: Step, settleMs: number, send: (id: string) => unknown): Promise<boolean> {
  switch (step.kind) {
    case 'send':
      await send(step.message);
      return true;
    case 'settle':
      return lab.settle(settleMs);
    case 'advance':
      return (await advanceLab(lab, step.ms, settleMs)).settled;
    case 'down':
      await lab.down(step.node);
      return true;
    case 'up':
      await lab.up(step.node);
      return true;
    case 'heal':
      await lab.heal(step.node);
      return true;
    case 'fail':
      await lab.failCommand(step.node, step.command, step.reply, step.times);
      return true;
    case 'dropDuringData':
      await lab.dropDuringData(step.node, step.times);
      return true;
    case 'tlsHandshakeFails':
      await lab.tlsHandshakeFails(step.node, step.times);
      return true;
    case 'stripStartTls':
      await lab.stripStartTls(step.from, step.to);
      return true;
    case 'slow':
      await lab.slow(step.node, step.delayMs);
      return true;
  }
}

/**
 * Moves the lab clock `ms` forward as a discrete-event scheduler: deliveries in flight finish at
 * the old time, then the clock stops at every retry, expiry and delay notice of every node on the
 * way, each running at its own moment against the world as it then is.
 */
export function advanceLab(lab: StepTarget, ms: number, settleMs: number) {
  return advanceThroughEvents({ dueIn: () => lab.dueIn(), moveClock: (d) => lab.moveClock(d), kick: () => lab.kick(), settle: () => lab.settle(settleMs) }, ms);
}

/**
 * The words a fault event records, the same whichever lab broke the node: `node` is the node
 * the fault is on, `at` its `address:port`.
 */
export const faultDetail = {
  down: (node: string, at: string) => `${node} is down: its listener on ${at} is closed and it delivers nothing`,
  up: (node: string, at: string) => `${node} is back on ${at} with what it held`,
  heal: (node: string) => `every fault of ${node} switched off`,
  fail: (node: string, command: string, reply: string, times?: number) => `${node} answers ${command} with ${reply}${times ? ` (${times} times)` : ''}`,
  dropDuringData: (node: string, times?: number) => `${node} cuts connections in the middle of DATA${times ? ` (${times} times)` : ''}`,
  tlsHandshakeFails: (node: string, times?: number) => `${node} breaks the TLS handshake after STARTTLS${times ? ` (${times} times)` : ''}`,
  slow: (node: string, delayMs: number) => `${node} answers every command ${delayMs} ms late`,
  detour: (from: string, to: string, at: string) => `${from} now reaches ${to} through a man in the middle on ${at} that strips STARTTLS`,
  stripped: (from: string, hostname: string, ip: string) => `a man in the middle removed STARTTLS from the EHLO reply of ${hostname} to ${ip} (${from})`,
};

/**
 * A scenario's timeline on any lab: the messages no `send` step names go first, then the steps,
 * then a last settle. Returns why the lab stopped short, or undefined.
 */
export async function playScenario(
  lab: StepTarget,
  scenario: Scenario,
  submit: (message: Scenario['messages'][number]) => unknown,
  settleMs: number,
): Promise<string | undefined> {
  const steps = stepsOf(scenario);
  const later = new Set(steps.flatMap((s) => (s.kind === 'send' ? [s.message] : [])));
  for (const m of scenario.messages) if (!later.has(m.id)) await submit(m);
  for (const [i, step] of steps.entries()) {
    if (!(await runStep(lab, step, settleMs, (id) => submit(scenario.messages.find((m) => m.id === id)!)))) {
      return `the lab did not settle within ${settleMs / 1000}s at steps[${i}] (${step.kind})`;
    }
  }
  return (await lab.settle(settleMs)) ? undefined : `the lab did not settle within ${settleMs / 1000}s`;
}
