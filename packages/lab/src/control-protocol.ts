import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FaultKind } from '@relaylab/core';
import type { FaultCommand, StoredMessage, Submission } from '@relaylab/mta';

/**
 * The node control API's protocol, shared by its server (node-control.ts) and its client
 * (control-client.ts): the shapes on the wire, the limits, and the checks every request passes
 * before it touches a node.
 */

/** The faults POST /faults switches on (or, `heal`, off) on the node's listener. */
export const LISTENER_FAULTS = ['fail', 'dropDuringData', 'tlsHandshakeFails', 'slow', 'heal'] as const satisfies readonly FaultKind[];

/** A fault the control API switches on (or, `heal`, off) on the node's listener. */
export type FaultRequest =
  | { fault: 'fail'; command: FaultCommand; reply: string; times?: number }
  | { fault: 'dropDuringData'; times?: number }
  | { fault: 'tlsHandshakeFails'; times?: number }
  | { fault: 'slow'; delayMs: number }
  | { fault: 'heal' };

export interface NodeStatus {
  node: string;
  idle: boolean;
  events: number;
}

/** GET /clock: the node's lab time, and the earliest lab time its queue has something due (none: nothing pending). */
export interface NodeClock {
  now: string;
  nextDue?: string;
}

/** A stored message on the wire: every field the mailbox keeps, bytes as base64. */
export type WireMessage = Omit<StoredMessage, 'raw' | 'deliveredAt'> & { raw: string; deliveredAt: string };

/** Every request body but a submission: the largest (a fault) is a few hundred bytes. */
export const CONTROL_BODY_LIMIT = 64 * 1024;
/** A submission carries a whole message as base64: room for messages well past Exchange's 150 MB maximum is not needed. */
export const SUBMIT_BODY_LIMIT = 64 * 1024 * 1024;
/** Ten years: more than any retry or expiry a scenario can reach, and far from Date's range. */
export const MAX_ADVANCE_MS = 10 * 366 * 86_400_000;
/** As the scenario schema bounds a `slow` step. */
export const MAX_DELAY_MS = 30_000;
export const FAULT_COMMANDS: readonly FaultCommand[] = ['EHLO', 'STARTTLS', 'MAIL', 'RCPT', 'DATA'];

/** A request the API refuses, with the HTTP status that says why. */
export class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const invalid = (message: string) => new Refused(400, message);

/** A value for an error message: short, on one line, and only ever what the client sent. */
export const shown = (v: unknown): string => {
  const text = v === undefined ? 'nothing' : (JSON.stringify(v) ?? String(v));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** The body's JSON object, read up to `limit` bytes: past it the rest is discarded unread and the answer is 413. */
export async function body(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? 0);
  const tooLarge = () => new Refused(413, `request body exceeds ${limit} bytes`, { connection: 'close' });
  if (declared > limit) {
    req.resume();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) {
      req.resume();
      throw tooLarge();
    }
    chunks.push(c as Buffer);
  }
  if (!size) return {};
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw invalid(`request body is not JSON: ${(err as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw invalid(`request body: expected a JSON object; found ${shown(value)}`);
  return value as Record<string, unknown>;
}

/** `b` with only the `allowed` fields: a misspelt field is an error, not a silent default. */
export function only(b: Record<string, unknown>, allowed: readonly string[]): Record<string, unknown> {
  for (const k of Object.keys(b)) if (!allowed.includes(k)) throw invalid(`unknown field "${k}"; expected ${allowed.length ? allowed.join(', ') : 'none'}`);
  return b;
}

export function integer(b: Record<string, unknown>, name: string, min: number, max: number, optional = false): number | undefined {
  const v = b[name];
  if (optional && (v === undefined || v === null)) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw invalid(`${name}: expected an integer from ${min} to ${max}; found ${shown(v)}`);
  return v;
}

/** A string of one line: what goes into an SMTP command or reply cannot carry CR, LF or NUL. */
export function line(v: unknown, name: string, maxLength = 998): string {
  if (typeof v !== 'string' || v.length > maxLength || /[\r\n\0]/.test(v))
    throw invalid(`${name}: expected a string of one line, at most ${maxLength} characters; found ${shown(v)}`);
  return v;
}

export function submission(b: Record<string, unknown>): Submission {
  only(b, ['from', 'to', 'raw']);
  const from = line(b.from, 'from');
  if (!Array.isArray(b.to) || !b.to.length) throw invalid(`to: expected a non-empty list of addresses; found ${shown(b.to)}`);
  const to = b.to.map((t, i) => line(t, `to[${i}]`));
  if (to.some((t) => !t)) throw invalid('to: an address is empty');
  if (typeof b.raw !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b.raw))
    throw invalid(`raw: expected the message as base64; found ${shown(typeof b.raw === 'string' ? `${b.raw.slice(0, 20)}…` : b.raw)}`);
  return { from, to, raw: Buffer.from(b.raw, 'base64') };
}

export function faultRequest(b: Record<string, unknown>): FaultRequest {
  const times = () => integer(b, 'times', 1, Number.MAX_SAFE_INTEGER, true);
  switch (b.fault) {
    case 'fail': {
      only(b, ['fault', 'command', 'reply', 'times']);
      if (!FAULT_COMMANDS.includes(b.command as FaultCommand))
        throw invalid(`command: expected one of ${FAULT_COMMANDS.join(', ')}; found ${shown(b.command)}`);
      const reply = line(b.reply, 'reply', 512);
      if (!/^[45][0-9][0-9]( .*)?$/.test(reply))
        throw invalid(`reply: expected an SMTP reply such as 451 4.3.2 System not accepting network messages; found ${shown(reply)}`);
      return { fault: 'fail', command: b.command as FaultCommand, reply, times: times() };
    }
    case 'dropDuringData':
    case 'tlsHandshakeFails':
      only(b, ['fault', 'times']);
      return { fault: b.fault, times: times() };
    case 'slow':
      only(b, ['fault', 'delayMs']);
      return { fault: 'slow', delayMs: integer(b, 'delayMs', 0, MAX_DELAY_MS)! };
    case 'heal':
      only(b, ['fault']);
      return { fault: 'heal' };
    default:
      throw invalid(`fault: expected one of ${LISTENER_FAULTS.join(', ')}; found ${shown(b.fault)}`);
  }
}

export function send(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(value));
}

/** Whether two secrets are equal, in time that does not depend on where they differ. */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The address literal a Host header names, without its port; IPv6 literals lose their brackets. */
export function hostOf(header: string): { host: string; port?: string } {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(header);
  return m ? { host: (m[1] ?? m[2])!.toLowerCase(), port: m[3] } : { host: '' };
}

export const UNSPECIFIED = new Set(['0.0.0.0', '::']);

/** Listens on `address:port` (0: any free port); rejects on EADDRINUSE and the like instead of crashing. */
export async function listenOn(server: Server, port: number, address: string): Promise<{ address: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  return { address, port: (server.address() as AddressInfo).port };
}
