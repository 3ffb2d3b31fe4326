import { describeFate, type Hop } from '@relaylab/lab';
import type { MessageFate } from './test-lab';

/** The part of jest's matcher context the matchers use (`this` inside a matcher). */
interface Context {
  isNot?: boolean;
  promise?: string;
  utils: {
    matcherHint(name: string, received?: string, expected?: string, options?: { isNot?: boolean; promise?: string }): string;
    printExpected(value: unknown): string;
    printReceived(value: unknown): string;
    diff(a: unknown, b: unknown): string | null;
  };
}

interface Result {
  pass: boolean;
  message: () => string;
}

export interface HopTls {
  tls?: string;
  cipher?: string;
  certificateVerified?: boolean;
  certificateName?: string;
}

function isFate(value: unknown): value is MessageFate {
  return !!value && typeof value === 'object' && 'state' in value && 'hops' in value && 'path' in value;
}

/**
 * jest's own layout: the hint line, expected and received side by side (with a diff where one
 * helps), then the message's trace, so a failing test explains itself without a debugger.
 */
function result(ctx: Context, matcher: string, pass: boolean, fate: MessageFate, lines: string[], expectedArg = 'expected'): Result {
  return {
    pass,
    message: () =>
      [
        ctx.utils.matcherHint(matcher, 'fate', expectedArg, { isNot: ctx.isNot, promise: ctx.promise }),
        '',
        ...lines,
        '',
        `trace of ${fate.messageId} → ${fate.recipient}:`,
        ...describeFate(fate).map((l) => `  ${l}`),
      ].join('\n'),
  };
}

/** `Expected: …` / `Received: …`, with `not` in the expected line when negated, as jest prints them. */
function sideBySide(ctx: Context, expected: unknown, received: unknown): string[] {
  return [`Expected: ${ctx.isNot ? 'not ' : ''}${ctx.utils.printExpected(expected)}`, `Received: ${ctx.utils.printReceived(received)}`];
}

function needFate(value: unknown, matcher: string): asserts value is MessageFate {
  if (!isFate(value)) throw new Error(`${matcher}: expected the result of lab.fate(sent), got ${typeof value}`);
}

const same = (a: string | undefined, b: string | undefined) => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();

function findHop(fate: MessageFate, from: string, to: string): Hop | undefined {
  return fate.hops.find((h) => h.from === from && h.to === to);
}

/** The classification the receiving node recorded: on the hop, or on its received event. */
function authAsAt(fate: MessageFate, node: string | undefined): { node: string; authAs?: string } | undefined {
  const hop = node ? [...fate.hops].reverse().find((h) => h.to === node) : fate.hops[fate.hops.length - 1];
  const at = hop?.to ?? node ?? fate.path[fate.path.length - 1];
  if (!at) return undefined;
  const read = (o: unknown): string | undefined => {
    const r = o as { authAs?: unknown; classification?: { authAs?: unknown } } | undefined;
    const v = r?.authAs ?? r?.classification?.authAs;
    return typeof v === 'string' ? v : undefined;
  };
  const received = [...fate.events].reverse().find((e) => (e.type === 'received' || e.type === 'submitted') && e.node === at);
  return { node: at, authAs: read(hop) ?? read(received) ?? (at === fate.path[0] ? read({ classification: fate.submission }) : undefined) };
}

const values = (fields: Array<{ name: string; value: string }> | undefined, name: string) =>
  (fields ?? []).filter((f) => f.name.toLowerCase() === name.toLowerCase()).map((f) => f.value.replace(/\r?\n[ \t]+/g, ' ').trim());

export const relaylabMatchers = {
  toBeDeliveredTo(this: Context, received: unknown, mailbox: string): Result {
    needFate(received, 'toBeDeliveredTo');
    const pass = received.state === 'delivered' && same(received.mailbox, mailbox);
    const actual = `${received.state}${received.mailbox ? ` to ${received.mailbox}` : ''}${received.reply ? `: ${received.reply}` : ''}`;
    return result(this, 'toBeDeliveredTo', pass, received, sideBySide(this, `delivered to ${mailbox}`, actual), 'mailbox');
  },

  toHaveTraveled(this: Context, received: unknown, nodes: string[]): Result {
    needFate(received, 'toHaveTraveled');
    const pass = received.path.join(' → ') === nodes.join(' → ');
    const diff = pass ? null : this.utils.diff(nodes, received.path);
    return result(this, 'toHaveTraveled', pass, received, diff && !this.isNot ? [diff] : sideBySide(this, nodes, received.path), 'nodes');
  },

  toHaveHopTls(this: Context, received: unknown, from: string, to: string, expected: string | HopTls): Result {
    needFate(received, 'toHaveHopTls');
    const want: HopTls = typeof expected === 'string' ? { tls: expected } : expected;
    const hop = findHop(received, from, to);
    if (!hop) {
      const hops = received.hops.map((h) => `${h.from} → ${h.to}`);
      return result(
        this,
        'toHaveHopTls',
        false,
        received,
        [`Expected: a hop ${from} → ${to}`, `Received: hops ${hops.length ? this.utils.printReceived(hops) : '(none)'}`],
        'from, to, tls',
      );
    }
    const keys = Object.keys(want) as Array<keyof HopTls>;
    const wrong = keys.filter((k) => {
      const w = want[k];
      const a = hop[k];
      return typeof w === 'string' && typeof a === 'string' ? !same(w, a) : w !== a;
    });
    const seen = Object.fromEntries(keys.map((k) => [k, hop[k]]));
    const lines = [`Hop: ${from} → ${to}`, ...sideBySide(this, want, seen), ...wrong.map((k) => `  ${k}: expected ${String(want[k])}, was ${String(hop[k])}`)];
    return result(this, 'toHaveHopTls', wrong.length === 0, received, lines, 'from, to, tls');
  },

  toBeClassifiedAs(this: Context, received: unknown, authAs: string, at?: string): Result {
    needFate(received, 'toBeClassifiedAs');
    const seen = authAsAt(received, at);
    if (!seen?.authAs) {
      return result(
        this,
        'toBeClassifiedAs',
        false,
        received,
        [
          `Expected: AuthAs ${this.utils.printExpected(authAs)}${seen ? ` at ${seen.node}` : ''}`,
          `Received: the trace records no classification there (the node is not an Exchange role, or the message never reached it)`,
        ],
        'authAs, at',
      );
    }
    return result(this, 'toBeClassifiedAs', same(seen.authAs, authAs), received, [`At: ${seen.node}`, ...sideBySide(this, authAs, seen.authAs)], 'authAs, at');
  },

  toKeepHeadersIntact(this: Context, received: unknown, names: string[]): Result {
    needFate(received, 'toKeepHeadersIntact');
    if (!received.deliveredHeaders) {
      return result(
        this,
        'toKeepHeadersIntact',
        false,
        received,
        [`Expected: ${this.utils.printExpected(names)} intact in the delivered message`, `Received: it was ${received.state}, not delivered`],
        'names',
      );
    }
    // A header the sender never wrote cannot be "kept intact": passing would hide a typo in the name.
    const neverSent = names.filter((n) => values(received.submittedHeaders, n).length === 0);
    if (neverSent.length > 0) {
      return result(
        this,
        'toKeepHeadersIntact',
        false,
        received,
        [`Expected: ${this.utils.printExpected(neverSent)} to be headers the sender submitted`, `Received: the submitted message has no such header`],
        'names',
      );
    }
    const sent = Object.fromEntries(names.map((n) => [n, values(received.submittedHeaders, n)]));
    const delivered = Object.fromEntries(names.map((n) => [n, values(received.deliveredHeaders, n)]));
    const pass = JSON.stringify(sent) === JSON.stringify(delivered);
    const diff = pass ? null : this.utils.diff(sent, delivered);
    return result(
      this,
      'toKeepHeadersIntact',
      pass,
      received,
      diff && !this.isNot ? ['Delivered as sent (- submitted, + delivered):', diff] : sideBySide(this, sent, delivered),
      'names',
    );
  },
};

type Matchers<R> = {
  toBeDeliveredTo(mailbox: string): R;
  toHaveTraveled(nodes: string[]): R;
  /** `'TLSv1.3'`, `'none'`, or `{ tls, certificateVerified, certificateName, cipher }`. */
  toHaveHopTls(from: string, to: string, expected: string | HopTls): R;
  /** X-MS-Exchange-Organization-AuthAs at `at` (default: the last node the message reached). */
  toBeClassifiedAs(authAs: 'Anonymous' | 'Partner' | 'Internal' | string, at?: string): R;
  /** The named header fields arrive in the mailbox exactly as the sender submitted them. */
  toKeepHeadersIntact(names: string[]): R;
};

// Typings for both ways of getting `expect`: imported from @jest/globals (the `expect` package)…
declare module 'expect' {
  // the type parameters must repeat expect's own declaration to merge with it, T included
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  interface Matchers<R extends void | Promise<void>, T = unknown> extends RelaylabMatchers<R> {}
}

// …and the global one of @types/jest.
declare global {
  namespace jest {
    interface Matchers<R> extends RelaylabMatchers<R> {}
  }
}

export type RelaylabMatchers<R> = Matchers<R>;
