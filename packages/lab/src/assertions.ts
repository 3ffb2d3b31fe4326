import { headerValues } from '@relaylab/core';
import { describeFate, type Fate, type Hop } from './outcomes';
import type { Expectation, HeaderExpectation, HopExpectation } from './scenario-model';

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
  ];
  for (const [key, value] of fields) {
    if (expected[key] === undefined) continue;
    checks++;
    const want = expected[key];
    const same = typeof want === 'string' && typeof value === 'string' ? want.toLowerCase() === value.toLowerCase() : want === value;
    if (!same) fail(`${prefix}.${key}`, want, value);
  }
  return checks;
}

function checkHeader(h: HeaderExpectation, raw: Buffer | undefined, fail: (field: string, e: unknown, a: unknown) => void): number {
  const values = raw ? headerValues(raw, h.name) : [];
  const field = `headers[${h.name}]`;
  let checks = 0;
  if (h.present !== undefined || (h.equals === undefined && h.matches === undefined && h.absent === undefined)) {
    checks++;
    const want = h.present ?? true;
    if ((values.length > 0) !== want) fail(`${field}.present`, want, values.length ? values : 'absent');
  }
  if (h.absent !== undefined) {
    checks++;
    if ((values.length === 0) !== h.absent) fail(`${field}.absent`, h.absent, values.length ? values : 'absent');
  }
  if (h.equals !== undefined) {
    checks++;
    if (!values.includes(h.equals)) fail(`${field}.equals`, h.equals, values.length ? values : 'absent');
  }
  if (h.matches !== undefined) {
    checks++;
    const re = new RegExp(h.matches);
    if (!values.some((v) => re.test(v))) fail(`${field}.matches`, `/${h.matches}/`, values.length ? values : 'absent');
  }
  return checks;
}

/** Compare one expectation with what the trace says happened to one recipient. */
export function checkExpectation(e: Expectation, recipient: string, fate: Fate, delivered: Buffer | undefined): Checked {
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
  return { subject, passed: passed - failures.length, failures };
}

export function formatFailure(f: Failure): string {
  return [`${f.subject}: ${f.field}`, `  expected: ${show(f.expected)}`, `  actual:   ${show(f.actual)}`, ...f.story.map((l) => `    ${l}`)].join('\n');
}
