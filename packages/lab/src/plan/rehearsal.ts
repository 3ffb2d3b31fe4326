import { MemoryTrace, VirtualClock, type Topology, type TraceEvent } from '@relaylab/core';
import { Pki } from '@relaylab/pki';
import { Lab } from '../lab';
import { fateOf, type Fate } from '../outcomes';
import { advanceLab, runStep } from '../steps';
import { agendaOf } from './agenda';
import { CachingResolver, LiveZone } from './dns-cache';
import type { Direction, Plan, PlanChange } from './plan-model';
import { formatMs, judgeCheckpoint, type CheckpointVerdict, type MessageStanding } from './plan-verdict';

export interface RehearsalOptions {
  certsDir: string;
  /** Real milliseconds a settle may take before the rehearsal gives up (default 30 s). */
  settleMs?: number;
  /** Each line of the timeline as it happens. */
  onLine?(line: string): void;
  /** Keep the traffic's trace events in the result (for the HTML report's hop diagrams). */
  keepTrace?: boolean;
}

export interface RehearsalAccounting {
  submitted: number;
  delivered: number;
  returned: number;
  deleted: number;
  handedOff: number;
  queued: number;
  lost: number;
}

export interface RehearsalResult {
  plan: string;
  file: string;
  passed: boolean;
  /** Why the rehearsal stopped short (a lab that did not settle), if it did. */
  error?: string;
  seconds: number;
  changes: Array<{ atMs: number; say: string }>;
  checkpoints: CheckpointVerdict[];
  accounting: RehearsalAccounting;
  /** Every traffic message where it ended, at the end of the rehearsal. */
  messages: MessageStanding[];
  /** With keepTrace: the trace events of the traffic messages, in order, and the topology the lab started with. */
  trace?: TraceEvent[];
  topology?: Topology;
  /** With keepTrace: which node listened on each `address:port`, to follow hops in the trace. */
  endpoints?: Record<string, string>;
  durationMs: number;
}

const hhmm = (ms: number) => {
  const m = Math.floor(ms / 60000);
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
};

function messageOf(direction: Direction, index: number, size: number): { messageId: string; raw: Buffer } {
  const messageId = `<${direction.name}-${index}@rehearsal.relaylab>`;
  const head = `From: <${direction.sender}>\r\nTo: <${direction.to}>\r\nMessage-ID: ${messageId}\r\nSubject: ${direction.name} #${index}\r\n\r\n`;
  const line = `${'x'.repeat(76)}\r\n`;
  return { messageId, raw: Buffer.from(head + line.repeat(Math.max(1, Math.floor((size - head.length) / line.length)))) };
}

/**
 * Runs a change plan on an embedded lab on the virtual clock: mail is submitted at its lab time,
 * changes are made at theirs (a topology change makes the nodes it touches again, their spools
 * kept; a DNS change is published, and each sender's cache keeps the old answer for its TTL), the
 * clock steps through every retry and expiry between, and each checkpoint is judged from the trace.
 */
export async function rehearse(plan: Plan, options: RehearsalOptions): Promise<RehearsalResult> {
  const started = performance.now();
  const settleMs = options.settleMs ?? 30_000;
  const say = options.onLine ?? (() => undefined);
  // Lab time moves only when the rehearsal moves it: a TTL that runs out on the hour does so at
  // that instant, whatever the real time spent starting nodes and delivering mail.
  const t0 = Date.now();
  const clock = new VirtualClock(() => t0);
  const elapsed = () => clock.now().getTime() - t0;
  const zone = new LiveZone(plan.topology.dns, plan.topology.nodes, plan.dnsTtlMs);
  const resolvers = new Map<string, CachingResolver>();
  const resolverFor = (node: string) => resolvers.get(node) ?? resolvers.set(node, new CachingResolver(zone, clock)).get(node)!;
  const pki = new Pki({ dir: options.certsDir, now: () => clock.now() });
  const trace = new MemoryTrace();
  // Greeting at once, as Exchange does (see runScenario): a simulated day opens a connection per retry.
  const lab = await Lab.start(plan.topology, { certsDir: options.certsDir, clock, pki, trace, resolverFor, timeouts: { greetingPauseMs: 0 } });
  const sent = new Map<string, { direction: string; to: string; submittedAtMs: number }>();
  const byMessage = new Map<string, TraceEvent[]>();
  const forwarded: TraceEvent[] = [];
  let cursor = 0;
  const index = () => {
    const events = trace.events as TraceEvent[];
    for (; cursor < events.length; cursor++) {
      const e = events[cursor]!;
      if (e.type === 'forwarded') forwarded.push(e);
      else if ('messageId' in e && sent.has(e.messageId)) {
        const list = byMessage.get(e.messageId);
        if (list) list.push(e);
        else byMessage.set(e.messageId, [e]);
      }
    }
  };
  const standings = (): MessageStanding[] => {
    index();
    const inQueue = new Set<string>();
    for (const node of lab.nodes.values()) for (const item of node.queue.pending()) inQueue.add(item.messageId);
    return [...sent].map(([messageId, m]) =>
      standing(
        messageId,
        m,
        fateOf([...(byMessage.get(messageId) ?? []), ...forwarded], messageId, m.to, (ip, port) => lab.nodeAt(ip, port)),
        inQueue.has(messageId),
        t0,
      ),
    );
  };

  const changes: RehearsalResult['changes'] = [];
  const verdicts: CheckpointVerdict[] = [];
  let error: string | undefined;
  let lastHour = 0;
  let final: MessageStanding[] = [];
  const endpoints: Record<string, string> = {};
  try {
    for (const item of agendaOf(plan)) {
      if (item.atMs > elapsed()) {
        const { settled } = await advanceLab(lab, item.atMs - elapsed(), settleMs);
        if (!settled) {
          error = `the lab did not settle within ${settleMs / 1000}s before ${hhmm(item.atMs)}`;
          break;
        }
      }
      if (Math.floor(elapsed() / 3_600_000) > lastHour) {
        lastHour = Math.floor(elapsed() / 3_600_000);
        const s = standings();
        const n = (state: MessageStanding['state']) => s.filter((m) => m.state === state).length;
        say(`${hhmm(elapsed())}  ${s.length} sent: ${n('delivered')} delivered, ${n('queued')} queued, ${n('returned')} returned`);
      }
      switch (item.kind) {
        case 'send': {
          const m = messageOf(item.direction, item.index, plan.messageSize);
          sent.set(m.messageId, { direction: item.direction.name, to: item.direction.to, submittedAtMs: item.atMs });
          lab.submit(item.direction.from, { from: item.direction.sender, to: [item.direction.to], raw: m.raw });
          break;
        }
        case 'change':
          await lab.settle(settleMs);
          await apply(item.change);
          changes.push({ atMs: item.atMs, say: item.change.say });
          say(`${hhmm(item.atMs)}  change: ${item.change.say}`);
          break;
        case 'checkpoint': {
          if (!(await lab.settle(settleMs))) {
            error = `the lab did not settle within ${settleMs / 1000}s at checkpoint ${item.checkpoint.name}`;
            break;
          }
          const verdict = judgeCheckpoint(item.checkpoint, item.fromMs, standings());
          verdicts.push(verdict);
          say(`${hhmm(item.atMs)}  checkpoint ${verdict.name}: ${verdict.passed ? 'PASS' : `FAIL (${verdict.failures.map((f) => f.check).join('; ')})`}`);
          break;
        }
      }
      if (error) break;
    }
    await lab.settle(settleMs);
  } finally {
    final = standings();
    for (const [name, node] of lab.nodes) endpoints[`${lab.topology.nodes[name]?.address}:${node.port}`] = name;
    await lab.stop();
  }

  async function apply(change: PlanChange): Promise<void> {
    if (change.kind === 'dns') zone.publish(change.dns, change.changed, change.ttlMs);
    else if (change.kind === 'step') await runStep(lab, change.step, settleMs, () => undefined);
    else {
      await lab.reconfigure(change.topology, await pki.forTopology(change.topology), change.nodes);
    }
  }

  const count = (state: MessageStanding['state']) => final.filter((m) => m.state === state).length;
  const accounting: RehearsalAccounting = {
    submitted: final.length,
    delivered: count('delivered'),
    returned: count('returned'),
    deleted: count('deleted'),
    handedOff: count('handedOff'),
    queued: count('queued'),
    lost: count('lost'),
  };
  return {
    plan: plan.name,
    file: plan.file,
    passed: !error && accounting.lost === 0 && verdicts.length === plan.checkpoints.length && verdicts.every((v) => v.passed),
    ...(error !== undefined && { error }),
    seconds: (performance.now() - started) / 1000,
    changes,
    checkpoints: verdicts,
    accounting,
    messages: final,
    durationMs: plan.durationMs,
    ...(options.keepTrace && {
      trace: (trace.events as TraceEvent[]).filter((e) => e.type === 'forwarded' || ('messageId' in e && sent.has(e.messageId))),
      topology: plan.topology,
      endpoints,
    }),
  };
}

const labMs = (iso: string | undefined, t0: number) => (iso ? new Date(iso).getTime() - t0 : undefined);

/** One message's standing from its fate, and whether a queue still holds it. */
function standing(messageId: string, m: { direction: string; submittedAtMs: number }, fate: Fate, queued: boolean, t0: number): MessageStanding {
  const classified = [...fate.hops].reverse().find((h) => h.classification)?.classification ?? fate.submission;
  const final: Partial<Record<Fate['state'], MessageStanding['state']>> = {
    delivered: 'delivered',
    bounced: 'returned',
    rejected: 'returned',
    deleted: 'deleted',
    handedOff: 'handedOff',
  };
  const state = final[fate.state] ?? (queued ? 'queued' : 'lost');
  const story = [
    fate.path.join(' → ') || '(never submitted)',
    state === 'delivered' ? `delivered to ${fate.mailbox ?? '?'} at ${formatMs(labMs(fate.at, t0) ?? 0)}` : state,
    fate.reply && state !== 'delivered' ? `last reply ${fate.reply}${fate.node ? ` at ${fate.node}` : ''}${fate.reason ? ` (${fate.reason})` : ''}` : '',
    fate.retries ? `${fate.retries} deferral${fate.retries > 1 ? 's' : ''}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  return {
    messageId,
    direction: m.direction,
    submittedAtMs: m.submittedAtMs,
    state,
    ...(state !== 'queued' && state !== 'lost' && { endedAtMs: labMs(fate.at, t0) }),
    deferred: fate.retries > 0,
    path: fate.path,
    ...(classified?.authAs !== undefined && { authAs: classified.authAs }),
    ...(classified?.antispam?.sfv !== undefined && { sfv: classified.antispam.sfv }),
    story,
  };
}
