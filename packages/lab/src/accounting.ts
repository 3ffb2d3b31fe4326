import type { DsnEvent } from '@relaylab/core';
import type { Failure } from './assertions';
import { describeFate, fateOf, type Fate, type NdrFate } from './outcomes';
import type { Expectation, Scenario } from './scenario-model';
import { lookupIn, type Trace } from './trace-index';

type NodeAt = (ip: string, port: number) => string | undefined;
type Entry = { message: string; recipient: string; fate: Fate };

const FINAL = 'a final state: delivered once, rejected with a code, bounced with an NDR, or deleted by a named rule';
const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

function covers(e: Expectation, message: string, recipient: string, to: string[]): boolean {
  return e.message === message && (e.recipient ? same(e.recipient, recipient) : to.some((t) => same(t, recipient)));
}

/**
 * Nothing lost: beyond the runner's unaccounted and duplicate checks, a message still queued
 * when the scenario ends fails it unless an expectation says `state: deferred` for it (a queued
 * message is Exchange still trying, not a fate; asserting it makes the snapshot deliberate), and
 * every DSN the lab produced must itself reach a final state, exactly once.
 */
export function accountFor(scenario: Scenario, ids: Map<string, string>, fates: Entry[], events: Trace, nodeAt: NodeAt): Failure[] {
  const trace = lookupIn(events);
  const failures: Failure[] = [];
  // by message label, so a scenario of many messages is not searched once per message
  const toOf = new Map<string, string[]>();
  for (const m of scenario.messages) if (!toOf.has(m.id)) toOf.set(m.id, m.to);
  const expectOf = new Map<string, Expectation[]>();
  for (const e of scenario.expect) {
    const list = expectOf.get(e.message);
    if (list) list.push(e);
    else expectOf.set(e.message, [e]);
  }
  for (const { message, recipient, fate } of fates) {
    if (fate.state !== 'deferred') continue;
    const to = toOf.get(message) ?? [];
    if ((expectOf.get(message) ?? []).some((e) => covers(e, message, recipient, to))) continue; // the expectation judges it
    failures.push({
      subject: `${message} → ${recipient}`,
      field: 'accounting',
      expected: FINAL,
      actual: `still queued (deferred) at ${fate.node} when the scenario ended: ${fate.reply}; add an expectation with state: deferred if that is the point`,
      story: describeFate(fate),
    });
  }
  const labelOf = new Map([...ids].map(([label, id]) => [id, label]));
  for (const dsn of trace.events.filter((e): e is DsnEvent => e.type === 'dsn')) {
    const original = labelOf.get(dsn.messageId) ?? dsn.messageId;
    const fate = fateOf(trace, dsn.dsnMessageId, dsn.to, nodeAt);
    const subject = `${dsn.action === 'delayed' ? 'Delay DSN' : 'NDR'} for ${original} (${dsn.recipients.join(', ')}) → ${dsn.to}`;
    const fail = (actual: string) => failures.push({ subject, field: 'accounting', expected: FINAL, actual, story: describeFate(fate) });
    if (fate.state === 'unaccounted') fail('no final state in the trace');
    else if (fate.finalStates.length > 1) fail(`ended in ${fate.finalStates.length} final states (${fate.finalStates.join(', ')}); exactly one is allowed`);
    else if (fate.state === 'deferred' && !(expectOf.get(original) ?? []).some((e) => e.ndr?.state === 'deferred')) {
      fail(`still queued (deferred) at ${fate.node}: ${fate.reply}; expect ndr: { state: deferred } if that is the point`);
    }
  }
  return failures;
}

/** Follows the DSN a failed message produced, reading its delivered copy while the lab is up. */
export function ndrFate(
  fate: Fate,
  envelopeFrom: string,
  events: Trace,
  nodeAt: NodeAt,
  read: (node: string, mailbox: string, messageId: string) => Buffer | undefined,
): NdrFate | undefined {
  const messageId = fate.ndr?.messageId;
  if (!messageId) return undefined;
  const trace = lookupIn(events);
  const dsn = fateOf(trace, messageId, envelopeFrom, nodeAt);
  const submitted = trace.of(messageId).find((ev) => ev.type === 'submitted');
  const raw = dsn.state === 'delivered' && dsn.node && dsn.mailbox ? (read(dsn.node, dsn.mailbox, messageId)?.toString('utf8') ?? '') : '';
  return {
    messageId,
    state: dsn.state,
    node: dsn.node,
    mailbox: dsn.mailbox,
    sender: submitted?.type === 'submitted' ? submitted.from : undefined,
    multipartReport: /^Content-Type: multipart\/report; report-type=delivery-status/m.test(raw),
    diagnosticCodes: [...raw.matchAll(/^Diagnostic-Code: smtp; (.*)$/gm)].map((m) => m[1]!.trim()),
    humanReplies: [...raw.matchAll(/^Remote server returned '(.*)'$/gm)].map((m) => m[1]!.trim()),
    story: describeFate(dsn),
  };
}
