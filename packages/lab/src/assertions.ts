import { fieldValues, headerValues, parseHeaders } from '@relaylab/core';
import { checkBody, type BodyEvidence } from './body-assertions';
import { checkHeaderExtras } from './header-extras';
import { checkLabTime, timeChecks } from './lab-time';
import { describeFate, type Fate, type Hop } from './outcomes';
import type { Expectation, HeaderExpectation, HopExpectation, UnchangedExpectation } from './scenario-model';
import { lookupIn, type Trace } from './trace-index';

/** Header fields as they arrived at a node (trace), or as delivered (mailbox bytes). */
export type HeaderSnapshot = (node: string | undefined) => Array<{ name: string; value: string }> | undefined;

/** The header section the mailbox holds for a delivered fate (see Fate.storedHeaders), as bytes. */
export function storedHeaderBytes(fate: Fate): Buffer | undefined {
  return fate.storedHeaders === undefined ? undefined : Buffer.from(fate.storedHeaders, 'latin1');
}

/**
 * Headers as a node received them (its arrival event records its parse of the bytes it took in),
 * or, for the mailbox, parsed from the stored bytes: never rebuilt by replaying edits.
 */
export function headerSnapshot(events: Trace, messageId: string | undefined, fate: Fate): HeaderSnapshot {
  const mine = lookupIn(events).of(messageId);
  return (node) => {
    if (node === undefined) {
      const stored = storedHeaderBytes(fate);
      return stored ? parseHeaders(stored) : undefined;
    }
    const seen = mine.find((ev) => (ev.type === 'received' || ev.type === 'submitted') && ev.node === node);
    return seen && (seen.type === 'received' || seen.type === 'submitted') ? seen.headersIn : undefined;
  };
}

export interface Failure {
  /** `m1 → bob@contoso.example` */
  subject: string;
  field: string;
  expected: unknown;
  actual: unknown;
  /** The message's story, for context. */
  story: string[];
}

export interface Checked {
  subject: string;
  passed: number;
  failures: Failure[];
}

const show = (v: unknown) => (v === undefined ? '(nothing)' : typeof v === 'string' ? v : JSON.stringify(v));

function checkHop(prefix: string, expected: HopExpectation, actual: Hop | undefined, fail: (field: string, e: unknown, a: unknown) => void): number {
  let checks = 0;
  const fields: Array<[keyof HopExpectation, unknown]> = [
    ['from', actual?.from],
    ['to', actual?.to],
    ['tls', actual?.tls],
    ['certificateVerified', actual?.certificateVerified],
    ['certificateName', actual?.certificateName],
    ['outboundConnector', actual?.outboundConnector],
    ['inboundConnector', actual?.inboundConnector],
    ['authAs', actual?.classification?.authAs],
    ['directionality', actual?.classification?.directionality],
    ['crossPremises', actual?.classification?.acceptCrossPremises],
    ['sfv', actual?.classification?.antispam?.sfv],
    ['scl', actual?.classification?.scl],
    ['ipv', actual?.classification?.antispam?.ipv],
  ];
  for (const [key, value] of fields) {
    if (expected[key] === undefined) continue;
    checks++;
    const want = expected[key];
    if (key === 'inboundConnector' && want === NO_CONNECTOR) {
      // `none` is "no connector matched", not a connector's name (a hop with no receipt has none either)
      if (value !== undefined) fail(`${prefix}.${key}`, 'none (no connector matched)', value);
      continue;
    }
    const same = typeof want === 'string' && typeof value === 'string' ? want.toLowerCase() === value.toLowerCase() : want === value;
    if (!same) fail(`${prefix}.${key}`, want, value);
  }
  if (expected.replyMatches !== undefined) {
    checks++;
    if (!new RegExp(expected.replyMatches).test(actual?.reply ?? '')) fail(`${prefix}.replyMatches`, `/${expected.replyMatches}/`, actual?.reply);
  }
  if (expected.via) {
    checks++;
    const crossed = actual?.via ?? [];
    if (crossed.join(' → ') !== expected.via.join(' → ')) fail(`${prefix}.via`, expected.via, crossed);
  }
  if (expected.rules) {
    checks++;
    const fired = actual?.classification?.rules.map((r) => r.rule) ?? [];
    if (fired.join(' | ') !== expected.rules.join(' | ')) fail(`${prefix}.rules`, expected.rules, fired);
  }
  return checks;
}

/** `inboundConnector: none` in a hop expectation: the receiving node matched no connector. */
export const NO_CONNECTOR = 'none';

function checkHeader(h: HeaderExpectation, raw: Buffer | undefined, fail: (field: string, e: unknown, a: unknown) => void): number {
  const all = raw ? headerValues(raw, h.name) : [];
  const field = `headers[${h.name}]`;
  let checks = checkHeaderExtras(h, all, field, fail);
  const picked = h.index === undefined ? undefined : all.at(h.index);
  const values = h.index === undefined ? all : picked === undefined ? [] : [picked];
  // with an index, a failure shows every value, so the reader sees what is at which position
  const seen = (): unknown =>
    h.index === undefined ? (values.length ? values : 'absent') : `at ${h.index}: ${picked ?? '(nothing)'}; all: ${JSON.stringify(all)}`;
  const checksNothing = h.equals === undefined && h.matches === undefined && h.absent === undefined;
  if (h.present !== undefined || (checksNothing && h.notEquals === undefined && h.count === undefined)) {
    checks++;
    const want = h.present ?? true;
    if (values.length > 0 !== want) fail(`${field}.present`, want, seen());
  }
  if (h.absent !== undefined) {
    checks++;
    if ((values.length === 0) !== h.absent) fail(`${field}.absent`, h.absent, seen());
  }
  if (h.equals !== undefined) {
    checks++;
    if (!values.includes(h.equals)) fail(`${field}.equals`, h.equals, seen());
  }
  if (h.matches !== undefined) {
    checks++;
    const re = new RegExp(h.matches);
    if (!values.some((v) => re.test(v))) fail(`${field}.matches`, `/${h.matches}/`, seen());
  }
  return checks;
}

/** Compare one expectation with what the trace says happened to one recipient. */
function checkUnchanged(u: UnchangedExpectation, snapshot: HeaderSnapshot, fail: (field: string, e: unknown, a: unknown) => void): number {
  const before = snapshot(u.from);
  const after = snapshot(u.to);
  const where = `unchanged[${u.from} → ${u.to ?? 'mailbox'}]`;
  if (!before || !after) {
    fail(
      where,
      `the message seen at ${u.from} and at ${u.to ?? 'the mailbox'}`,
      `${before ? '' : `never reached ${u.from}`}${!before && !after ? ', ' : ''}${after ? '' : `never reached ${u.to ?? 'a mailbox'}`}`,
    );
    return 1;
  }
  for (const name of u.headers) {
    const a = fieldValues(before, name);
    const b = fieldValues(after, name);
    if (JSON.stringify(a) !== JSON.stringify(b)) fail(`${where}.${name}`, a.length ? a : 'absent', b.length ? b : 'absent');
  }
  return u.headers.length;
}

export function checkExpectation(
  e: Expectation,
  recipient: string,
  fate: Fate,
  delivered: Buffer | undefined,
  snapshot?: HeaderSnapshot,
  body?: BodyEvidence,
): Checked {
  const subject = `${e.message} → ${recipient}`;
  const failures: Failure[] = [];
  const story = describeFate(fate);
  const fail = (field: string, expected: unknown, actual: unknown) => failures.push({ subject, field, expected, actual, story });
  let passed = 0;
  const count = (n = 1) => (passed += n);

  count();
  if (fate.state !== e.state) fail('state', e.state, fate.state === 'unaccounted' ? 'unaccounted (no final state in the trace)' : fate.state);
  if (fate.deliveries > 1) fail('deliveries', 1, fate.deliveries);
  if (e.state === 'delivered') {
    count();
    const mailbox = (e.mailbox ?? recipient).toLowerCase();
    if (fate.state === 'delivered' && fate.mailbox !== mailbox) fail('mailbox', mailbox, fate.mailbox);
  }
  if (e.folder !== undefined) {
    count();
    if (fate.folder !== e.folder) fail('folder', e.folder, fate.folder);
  }
  if (e.host !== undefined) {
    count();
    if (fate.handedOffTo?.toLowerCase() !== e.host.toLowerCase()) fail('host', e.host, fate.handedOffTo ?? `(not handed off: ${fate.state})`);
  }
  if (e.rule !== undefined) {
    count();
    if (fate.rule !== e.rule) fail('rule', e.rule, fate.rule);
  }
  if (e.code !== undefined) {
    count();
    if (!fate.reply || !fate.reply.startsWith(e.code)) fail('code', e.code, fate.reply);
  }
  if (e.node !== undefined) {
    count();
    if (fate.node !== e.node) fail('node', e.node, fate.node);
  }
  if (e.path) {
    count();
    if (fate.path.join(' → ') !== e.path.join(' → ')) fail('path', e.path.join(' → '), fate.path.join(' → ') || '(empty)');
  }
  (e.hops ?? []).forEach((hop, i) => {
    const actual = hop.from || hop.to ? fate.hops.find((h) => (!hop.from || h.from === hop.from) && (!hop.to || h.to === hop.to)) : fate.hops[i];
    if (!actual) {
      count();
      fail(`hops[${i}]`, `a hop ${hop.from ?? '?'} → ${hop.to ?? '?'}`, fate.hops.map((h) => `${h.from} → ${h.to}`).join(', ') || 'no hop completed');
      return;
    }
    count(checkHop(`hops[${i}]`, hop, actual, fail));
  });
  for (const h of e.headers ?? []) {
    if (!delivered) {
      count();
      fail(`headers[${h.name}]`, 'a delivered message to read headers from', fate.state);
      continue;
    }
    count(checkHeader(h, delivered, fail));
  }
  for (const u of e.unchanged ?? []) count(snapshot ? checkUnchanged(u, snapshot, fail) : 0);
  count(checkBody(e, body, fail));
  if (e.ndr) count(ndrChecks(e, fate, failures, subject));
  count(timeChecks(e, fate, fail));
  return { subject, passed: passed - failures.length, failures };
}

/** The DSN came back: from the null sender, where expected, a multipart/report naming the code. */
export function ndrChecks(e: Expectation, fate: Fate, failures: Failure[], subject: string): number {
  const want = e.ndr!;
  const ndr = fate.ndr;
  const fail = (field: string, expected: unknown, actual: unknown) =>
    failures.push({ subject, field, expected, actual, story: [...describeFate(fate), ...(ndr ? [`NDR ${ndr.messageId}:`, ...ndr.story] : [])] });
  if (!ndr) {
    fail('ndr', 'a DSN back to the envelope sender', fate.noNdr ?? `no DSN was sent (final state ${fate.state})`);
    return 1;
  }
  let checks = 2;
  if (ndr.sender !== '') fail('ndr.sender', '<> (the null sender)', ndr.sender ?? '(never submitted)');
  const state = want.state ?? 'delivered';
  if (ndr.state !== state) fail('ndr.state', state, ndr.state);
  if (want.mailbox !== undefined) {
    checks++;
    if (ndr.mailbox !== want.mailbox.toLowerCase()) fail('ndr.mailbox', want.mailbox.toLowerCase(), ndr.mailbox);
  }
  if (want.code !== undefined) {
    checks++;
    const code = want.code;
    if (!ndr.multipartReport || !ndr.diagnosticCodes.some((c) => c.startsWith(code)) || !ndr.humanReplies.some((c) => c.startsWith(code))) {
      fail(
        'ndr.code',
        `a multipart/report DSN reporting ${code} (Diagnostic-Code and the human part)`,
        ndr.diagnosticCodes.join(' | ') || (ndr.state === 'delivered' ? 'no Diagnostic-Code' : `the DSN was ${ndr.state}`),
      );
    }
  }
  if (want.at !== undefined) checks += checkLabTime('ndr.at', want.at, fate, fate.ndrAt, 'NDR', fail);
  return checks;
}

export function formatFailure(f: Failure): string {
  return [`${f.subject}: ${f.field}`, `  expected: ${show(f.expected)}`, `  actual:   ${show(f.actual)}`, ...f.story.map((l) => `    ${l}`)].join('\n');
}
