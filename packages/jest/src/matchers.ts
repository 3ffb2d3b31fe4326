import { describeFate, type Hop } from '@relaylab/lab';
import type { MessageFate } from './test-lab';

interface Context {
  isNot?: boolean;
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

/** Every failure message ends with the message's trace, so a failing test explains itself. */
function result(ctx: Context, pass: boolean, fate: MessageFate, said: string): Result {
  return {
    pass,
    message: () => [`${ctx.isNot ? 'expected not: ' : 'expected: '}${said}`, '', `trace of ${fate.messageId} → ${fate.recipient}:`, ...describeFate(fate).map((l) => `  ${l}`)].join('\n'),
  };
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
    return result(this, pass, received, `delivered to ${mailbox}; was ${received.state}${received.mailbox ? ` to ${received.mailbox}` : ''}${received.reply ? `: ${received.reply}` : ''}`);
  },

  toHaveTraveled(this: Context, received: unknown, nodes: string[]): Result {
    needFate(received, 'toHaveTraveled');
    const pass = received.path.join(' → ') === nodes.join(' → ');
    return result(this, pass, received, `path ${nodes.join(' → ')}; was ${received.path.join(' → ') || '(empty)'}`);
  },

  toHaveHopTls(this: Context, received: unknown, from: string, to: string, expected: string | HopTls): Result {
    needFate(received, 'toHaveHopTls');
    const want: HopTls = typeof expected === 'string' ? { tls: expected } : expected;
    const hop = findHop(received, from, to);
    if (!hop) return result(this, false, received, `a hop ${from} → ${to}; hops were ${received.hops.map((h) => `${h.from} → ${h.to}`).join(', ') || '(none)'}`);
    const wrong = (Object.keys(want) as Array<keyof HopTls>).filter((k) => {
      const w = want[k];
      const a = hop[k];
      return typeof w === 'string' && typeof a === 'string' ? !same(w, a) : w !== a;
    });
    const shown = (Object.keys(want) as Array<keyof HopTls>).map((k) => `${k} ${String(want[k])}${wrong.includes(k) ? ` (was ${String(hop[k])})` : ''}`);
    return result(this, wrong.length === 0, received, `${from} → ${to} with ${shown.join(', ')}`);
  },

  toBeClassifiedAs(this: Context, received: unknown, authAs: string, at?: string): Result {
    needFate(received, 'toBeClassifiedAs');
    const seen = authAsAt(received, at);
    if (!seen?.authAs) {
      return result(this, false, received, `AuthAs ${authAs}${seen ? ` at ${seen.node}` : ''}; the trace records no classification there (the node is not an Exchange role, or the message never reached it)`);
    }
    return result(this, same(seen.authAs, authAs), received, `AuthAs ${authAs} at ${seen.node}; was ${seen.authAs}`);
  },

  toKeepHeadersIntact(this: Context, received: unknown, names: string[]): Result {
    needFate(received, 'toKeepHeadersIntact');
    if (!received.deliveredHeaders) return result(this, false, received, `headers ${names.join(', ')} intact in the delivered message; it was ${received.state}, not delivered`);
    const changed = names.filter((n) => JSON.stringify(values(received.submittedHeaders, n)) !== JSON.stringify(values(received.deliveredHeaders, n)));
    const detail = changed.map((n) => `${n}: sent ${JSON.stringify(values(received.submittedHeaders, n))}, delivered ${JSON.stringify(values(received.deliveredHeaders, n))}`);
    return result(this, changed.length === 0, received, `${names.join(', ')} delivered as sent${detail.length ? `; ${detail.join('; ')}` : ''}`);
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
  // the type parameters must repeat expect's own declaration to merge with it
  interface Matchers<R extends void | Promise<void>, T = unknown> extends RelaylabMatchers<R> {}
}

// …and the global one of @types/jest.
declare global {
  namespace jest {
    interface Matchers<R> extends RelaylabMatchers<R> {}
  }
}

export type RelaylabMatchers<R> = Matchers<R>;
