import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from '@jest/globals';
import { MemoryTrace, parseHeaders, VirtualClock, type HeaderField, type Topology, type TraceEvent } from '@relaylab/core';
import { composeMessage, fateOf, Lab, loadTopologyFile, type Fate, type MessageSpec } from '@relaylab/lab';

/** What a test sends: a scenario message without the bookkeeping (`id` defaults to m1, m2, …). */
export type Send = Omit<MessageSpec, 'id'> & { id?: string };

export interface Sent {
  id: string;
  messageId: string;
  from: string;
  to: string[];
  via: string;
}

/** A recipient's fate with what the matchers need to explain themselves. */
export interface MessageFate extends Fate {
  messageId: string;
  recipient: string;
  /** This message's trace events, in order. */
  events: TraceEvent[];
  /** Header fields as the first node took the message from its sender. */
  submittedHeaders?: HeaderField[];
  /** Header fields of the stored copy, when delivered. */
  deliveredHeaders?: HeaderField[];
}

export interface TestLab {
  /** The running lab (nodes, clock); only between beforeAll and afterAll. */
  readonly lab: Lab;
  readonly trace: readonly TraceEvent[];
  send(message: Send): Sent;
  /** Wait until no node has work left; fails the test when that takes longer than `timeoutMs`. */
  settle(timeoutMs?: number): Promise<void>;
  /** Move the lab clock (queues retry, certificates expire), then settle. */
  advance(ms: number, timeoutMs?: number): Promise<void>;
  fate(sent: Sent, recipient?: string): MessageFate;
}

export interface UseLabOptions {
  /** Certificate cache; a fresh temporary folder by default (the first start makes certificates). */
  certsDir?: string;
  /** Scenario name baked into composed Message-IDs. */
  name?: string;
}

/**
 * Start a lab for this test file (in `beforeAll`) and stop it afterwards (in `afterAll`). Call it
 * at the top of a test file or a `describe` block; use the returned object inside tests.
 */
export function useLab(topology: string | Topology, options: UseLabOptions = {}): TestLab {
  const trace = new MemoryTrace();
  const name = options.name ?? 'jest';
  let running: Lab | undefined;
  let count = 0;
  const lab = () => {
    if (!running) throw new Error('useLab: the lab is not running; use it inside a test, after beforeAll');
    return running;
  };

  beforeAll(async () => {
    const spec = typeof topology === 'string' ? loadTopologyFile(topology) : topology;
    const certsDir = options.certsDir ?? mkdtempSync(join(tmpdir(), 'relaylab-jest-'));
    running = await Lab.start(spec, { certsDir, trace, clock: new VirtualClock() });
  }, 60_000);

  afterAll(async () => {
    await running?.stop();
    running = undefined;
  });

  const settle = async (timeoutMs = 20_000) => {
    if (!(await lab().settle(timeoutMs))) throw new Error(`useLab: the lab did not settle within ${timeoutMs / 1000}s`);
  };

  return {
    get lab() {
      return lab();
    },
    trace: trace.events,
    send(message) {
      const id = message.id ?? `m${++count}`;
      const raw = composeMessage({ ...message, id }, name, lab().clock.now());
      const messageId = lab().submit(message.via, { from: message.from, to: message.to, raw });
      return { id, messageId, from: message.from, to: message.to, via: message.via };
    },
    settle,
    async advance(ms, timeoutMs) {
      await lab().advance(ms, timeoutMs);
      await settle(timeoutMs);
    },
    fate(sent, recipient) {
      recipient ??= sent.to[0];
      if (!recipient) throw new Error('lab.fate: the message was sent to nobody');
      const running = lab();
      const fate = fateOf(trace.events, sent.messageId, recipient, (ip, port) => running.nodeAt(ip, port));
      const events = trace.events.filter((e) => 'messageId' in e && e.messageId === sent.messageId);
      const submitted = events.find((e) => e.type === 'submitted');
      const stored =
        fate.state === 'delivered' && fate.node && fate.mailbox
          ? running
              .node(fate.node)
              .mailboxes.get(fate.mailbox)
              .find((m) => m.messageId === sent.messageId)
          : undefined;
      return {
        ...fate,
        messageId: sent.messageId,
        recipient,
        events,
        submittedHeaders: submitted && submitted.type === 'submitted' ? submitted.headersIn : undefined,
        deliveredHeaders: stored ? parseHeaders(stored.raw) : undefined,
      };
    },
  };
}
