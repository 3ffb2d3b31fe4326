import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import type { FaultKind, TraceEvent } from '@relaylab/core';
import type { FaultCommand, MailNode, StoredMessage, Submission } from '@relaylab/mta';
import { faultDetail } from './steps';
import type { ObservedTrace } from './trace-stream';
import { jsonLines } from './trace-stream';

/**
 * A node's control API: what the embedded runner does with method calls (submit as a user of the
 * node, ask whether it is idle, move its clock, read a mailbox, follow its trace) as HTTP on the
 * node's own address, so a runner in another process or container can drive it.
 *
 * Closed to everyone else: every request carries the lab's token (`Authorization: Bearer`, see
 * ensureControlToken) and names the API's own address as Host; browsers are refused; a POST
 * is JSON (Content-Type: application/json) of bounded size, and every field is checked before
 * anything happens (400 with the reason; 401, 403, 405, 413, 415 as HTTP means them).
 *
 *   GET  /status                  { node, idle, events }
 *   POST /submit  {from,to,raw}   { messageId }       (raw is base64: message bytes are sacred)
 *   POST /advance {ms, kick?}     {}  (kick false: move the clock only; POST /kick runs what is due)
 *   POST /kick                    {}
 *   GET  /mailbox?address=a       [{ messageId, from, recipient, raw, deliveredAt, ... }]
 *   GET  /mailboxes               every stored message of every mailbox, same shape
 *   GET  /trace?from=n            JSON lines: events n… so far, then each new one as it happens
 *
 * Faults, as the embedded Lab's methods of the same names (each recorded as a fault event):
 *
 *   POST /down                    {}   listener closed, nothing delivered; queue and spool kept
 *   POST /up                      {}   back on the same address and port
 *   POST /faults  {fault, ...}    {}   fault: fail {command, reply, times?} | dropDuringData {times?}
 *                                      | tlsHandshakeFails {times?} | slow {delayMs} | heal
 *   POST /detour  {to}            { port }  this node reaches node `to` through a STARTTLS-stripping
 *                                      proxy on `to`'s address (only where this process may bind
 *                                      it: loopback, not another container's address)
 */
export interface ControlledNode {
  node: MailNode;
  trace: ObservedTrace;
  /** Moves the node's clock; with `kick`, lets its queue retry what is now due at once. */
  advance(ms: number, kick: boolean): void;
  /** The node's lab time, for the fault events the API records. */
  now(): Date;
  /** The node's listening address, for those events' words. */
  address: string;
  /** Routes this node's mail for node `to` through a STARTTLS-stripping proxy; the proxy's port. */
  stripStartTls?(to: string): Promise<number>;
  /** Closes every STARTTLS-stripping proxy: mail goes straight to its targets again. */
  clearDetours?(): Promise<void>;
}

/** The faults POST /faults switches on (or, `heal`, off) on the node's listener. */
const LISTENER_FAULTS = ['fail', 'dropDuringData', 'tlsHandshakeFails', 'slow', 'heal'] as const satisfies readonly FaultKind[];

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

/** Every POST endpoint; each takes a JSON object (`{}` when it needs nothing). */
const ENDPOINTS = new Set(['POST /submit', 'POST /advance', 'POST /kick', 'POST /down', 'POST /up', 'POST /faults', 'POST /reset', 'POST /detour']);
const READS = ['GET /status', 'GET /mailbox', 'GET /mailboxes', 'GET /trace'];

/** A stored message on the wire: every field the mailbox keeps, bytes as base64. */
export type WireMessage = Omit<StoredMessage, 'raw' | 'deliveredAt'> & { raw: string; deliveredAt: string };

/** Every request body but a submission: the largest (a fault) is a few hundred bytes. */
export const CONTROL_BODY_LIMIT = 64 * 1024;
/** A submission carries a whole message as base64: room for messages well past Exchange's 150 MB maximum is not needed. */
export const SUBMIT_BODY_LIMIT = 64 * 1024 * 1024;
/** Ten years: more than any retry or expiry a scenario can reach, and far from Date's range. */
const MAX_ADVANCE_MS = 10 * 366 * 86_400_000;
/** As the scenario schema bounds a `slow` step. */
const MAX_DELAY_MS = 30_000;
const FAULT_COMMANDS: readonly FaultCommand[] = ['EHLO', 'STARTTLS', 'MAIL', 'RCPT', 'DATA'];

/** A request the API refuses, with the HTTP status that says why. */
class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const invalid = (message: string) => new Refused(400, message);

/** A value for an error message: short, on one line, and only ever what the client sent. */
const shown = (v: unknown): string => {
  const text = v === undefined ? 'nothing' : (JSON.stringify(v) ?? String(v));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** The body's JSON object, read up to `limit` bytes: past it the rest is discarded unread and the answer is 413. */
async function body(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
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
function only(b: Record<string, unknown>, allowed: readonly string[]): Record<string, unknown> {
  for (const k of Object.keys(b)) if (!allowed.includes(k)) throw invalid(`unknown field "${k}"; expected ${allowed.length ? allowed.join(', ') : 'none'}`);
  return b;
}

function integer(b: Record<string, unknown>, name: string, min: number, max: number, optional = false): number | undefined {
  const v = b[name];
  if (optional && (v === undefined || v === null)) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw invalid(`${name}: expected an integer from ${min} to ${max}; found ${shown(v)}`);
  return v;
}

/** A string of one line: what goes into an SMTP command or reply cannot carry CR, LF or NUL. */
function line(v: unknown, name: string, maxLength = 998): string {
  if (typeof v !== 'string' || v.length > maxLength || /[\r\n\0]/.test(v))
    throw invalid(`${name}: expected a string of one line, at most ${maxLength} characters; found ${shown(v)}`);
  return v;
}

function submission(b: Record<string, unknown>): Submission {
  only(b, ['from', 'to', 'raw']);
  const from = line(b.from, 'from');
  if (!Array.isArray(b.to) || !b.to.length) throw invalid(`to: expected a non-empty list of addresses; found ${shown(b.to)}`);
  const to = b.to.map((t, i) => line(t, `to[${i}]`));
  if (to.some((t) => !t)) throw invalid('to: an address is empty');
  if (typeof b.raw !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b.raw))
    throw invalid(`raw: expected the message as base64; found ${shown(typeof b.raw === 'string' ? `${b.raw.slice(0, 20)}…` : b.raw)}`);
  return { from, to, raw: Buffer.from(b.raw, 'base64') };
}

function faultRequest(b: Record<string, unknown>): FaultRequest {
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

function send(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(value));
}

/** Whether two secrets are equal, in time that does not depend on where they differ. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The address literal a Host header names, without its port; IPv6 literals lose their brackets. */
function hostOf(header: string): { host: string; port?: string } {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(header);
  return m ? { host: (m[1] ?? m[2])!.toLowerCase(), port: m[3] } : { host: '' };
}

const UNSPECIFIED = new Set(['0.0.0.0', '::']);

export class NodeControlServer {
  private readonly server: Server;
  private readonly followers = new Set<ServerResponse>();
  private bound?: { address: string; port: number };

  /** `token`: what every request must carry as `Authorization: Bearer <token>` (see ensureControlToken). */
  constructor(
    private readonly target: ControlledNode,
    private readonly token: string,
  ) {
    if (!token) throw new Error('the control API needs a token');
    this.server = createServer((req, res) => {
      this.route(req, res).catch((err: Error) => {
        if (err instanceof Refused) send(res, err.status, { error: err.message }, err.headers);
        else send(res, 500, { error: err.message });
      });
    });
    // The body of a request must arrive in time; the trace a runner follows is a response, not bounded.
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 60_000;
  }

  async listen(port: number, address: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, address, () => {
        this.server.removeListener('error', reject);
        resolve();
      });
    });
    this.bound = { address, port: (this.server.address() as AddressInfo).port };
  }

  /** The port it listens on (for port 0). */
  get port(): number | undefined {
    return this.bound?.port;
  }

  /**
   * What every request must pass before anything happens. The Host must be the address this API
   * listens on, so a web page whose name was rebound to the node's address is refused; a request
   * with an Origin (or Sec-Fetch-Site) comes from a browser, and nothing here serves browsers; the
   * token is a header that no cross-origin request can set without a CORS preflight, which this
   * API never grants. POSTs carry JSON, which a simple cross-origin form cannot.
   */
  private admit(req: IncomingMessage): void {
    const { host, port } = hostOf(req.headers.host ?? '');
    const bound = this.bound!;
    const isLiteral = isIP(host) !== 0;
    const hostOk = UNSPECIFIED.has(bound.address)
      ? isLiteral
      : host === bound.address.toLowerCase() && (port === String(bound.port) || (port === undefined && bound.port === 80));
    if (!hostOk) throw new Refused(403, `Host ${shown(req.headers.host ?? '')} is not this control API's address ${bound.address}:${bound.port}`);
    if (req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined)
      throw new Refused(403, 'the control API does not answer requests from web browsers');
    const auth = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!auth || !sameSecret(auth[1]!, this.token)) {
      throw new Refused(401, "missing or wrong control token: send Authorization: Bearer <the token in the lab's control-token file>", {
        'www-authenticate': 'Bearer realm="relaylab"',
      });
    }
  }

  /** A POST's JSON body, after its Content-Type says it is JSON. */
  private async json(req: IncomingMessage, limit = CONTROL_BODY_LIMIT): Promise<Record<string, unknown>> {
    const [mediaType = ''] = (req.headers['content-type'] ?? '').split(';');
    const type = mediaType.trim().toLowerCase();
    if (type !== 'application/json') {
      req.resume();
      throw new Refused(415, `expected Content-Type: application/json; found ${shown(req.headers['content-type'] ?? 'none')}`);
    }
    return body(req, limit);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.admit(req);
    const url = new URL(req.url ?? '/', 'http://node');
    const { node, trace } = this.target;
    const key = `${req.method} ${url.pathname}`;
    if (req.method === 'POST' && ENDPOINTS.has(key)) {
      const b = await this.json(req, key === 'POST /submit' ? SUBMIT_BODY_LIMIT : CONTROL_BODY_LIMIT);
      return send(res, 200, await this.post(key, b));
    }
    if (key === 'GET /status') return send(res, 200, { node: node.name, idle: node.isIdle(), events: trace.events.length } satisfies NodeStatus);
    if (key === 'GET /mailbox' || key === 'GET /mailboxes') {
      let list;
      if (key === 'GET /mailbox') {
        const address = url.searchParams.get('address');
        if (!address) throw invalid('address: expected ?address=<mailbox address>');
        list = node.mailboxes.get(address);
      } else list = node.mailboxes.all();
      return send(
        res,
        200,
        list.map((m) => ({ ...m, raw: m.raw.toString('base64'), deliveredAt: m.deliveredAt.toISOString() }) satisfies WireMessage),
      );
    }
    if (key === 'GET /trace') {
      const from = Number(url.searchParams.get('from') ?? 0);
      if (!Number.isSafeInteger(from) || from < 0) throw invalid(`from: expected an event number from 0; found ${shown(url.searchParams.get('from'))}`);
      return this.follow(res, from);
    }
    const allowed = [...ENDPOINTS, ...READS].filter((e) => e.endsWith(` ${url.pathname}`)).map((e) => e.split(' ')[0]);
    if (allowed.length) throw new Refused(405, `${url.pathname} takes ${allowed.join(', ')}`, { allow: allowed.join(', ') });
    throw new Refused(404, `no such control endpoint: ${key}`);
  }

  /** What a POST does, once its body is known to be well formed. */
  private async post(key: string, b: Record<string, unknown>): Promise<unknown> {
    const { node } = this.target;
    switch (key) {
      case 'POST /submit':
        return { messageId: node.submit(submission(b)) };
      case 'POST /advance': {
        only(b, ['ms', 'kick']);
        // A clock moved by NaN would make every later date invalid, and every DATA fail.
        const ms = integer(b, 'ms', 0, MAX_ADVANCE_MS)!;
        if (b.kick !== undefined && typeof b.kick !== 'boolean') throw invalid(`kick: expected true or false; found ${shown(b.kick)}`);
        this.target.advance(ms, b.kick !== false);
        return {};
      }
      case 'POST /kick':
        only(b, []);
        node.queue.kick();
        return {};
      case 'POST /down':
        only(b, []);
        await node.takeDown();
        this.fault('down', faultDetail.down(node.name, `${this.target.address}:${node.port}`));
        return {};
      case 'POST /up':
        only(b, []);
        await node.bringUp();
        this.fault('up', faultDetail.up(node.name, `${this.target.address}:${node.port}`));
        return {};
      case 'POST /faults':
        this.switchFault(faultRequest(b));
        return {};
      case 'POST /reset':
        only(b, []);
        // A runner attached to long-running nodes leaves them as it found them: up, healthy, no detours.
        await node.bringUp();
        this.switchFault({ fault: 'heal' });
        await this.target.clearDetours?.();
        return {};
      case 'POST /detour': {
        only(b, ['to']);
        const to = line(b.to, 'to', 200);
        if (!this.target.stripStartTls) throw invalid('this node cannot set up detours');
        return { port: await this.target.stripStartTls(to) };
      }
      default:
        throw new Refused(404, `no such control endpoint: ${key}`);
    }
  }

  private switchFault(f: FaultRequest): void {
    const { node } = this.target;
    switch (f.fault) {
      case 'fail':
        node.faults.fail(f.command, f.reply, f.times);
        return this.fault('fail', faultDetail.fail(node.name, f.command, f.reply, f.times));
      case 'dropDuringData':
        node.faults.dropDuringData(f.times);
        return this.fault('dropDuringData', faultDetail.dropDuringData(node.name, f.times));
      case 'tlsHandshakeFails':
        node.faults.tlsHandshakeFails(f.times);
        return this.fault('tlsHandshakeFails', faultDetail.tlsHandshakeFails(node.name, f.times));
      case 'slow':
        node.faults.slow(f.delayMs);
        return this.fault('slow', faultDetail.slow(node.name, f.delayMs));
      case 'heal':
        node.faults.heal();
        return this.fault('heal', faultDetail.heal(node.name));
      default:
        throw new Error(`no such fault: ${(f as { fault?: unknown }).fault}`);
    }
  }

  /** Records what the runner broke on this node, so the trace tells the whole story. */
  private fault(fault: FaultKind, detail: string): void {
    this.target.trace.emit({ type: 'fault', at: this.target.now().toISOString(), node: this.target.node.name, fault, detail });
  }

  private follow(res: ServerResponse, from: number): void {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    for (const e of this.target.trace.events.slice(from)) res.write(`${JSON.stringify(e)}\n`);
    const unsubscribe = this.target.trace.subscribe((e) => res.write(`${JSON.stringify(e)}\n`));
    this.followers.add(res);
    res.on('close', () => {
      unsubscribe();
      this.followers.delete(res);
    });
  }

  async close(): Promise<void> {
    for (const f of this.followers) f.end();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The runner's side of one node's control API. */
export class NodeControlClient {
  /** `token`: the lab's control token (readControlToken), which every request carries. */
  constructor(
    readonly name: string,
    readonly address: string,
    readonly port: number,
    private readonly token: string,
  ) {}

  private call<T>(method: string, path: string, payload?: unknown, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const data = method === 'POST' ? Buffer.from(JSON.stringify(payload ?? {})) : undefined;
      const headers = { authorization: `Bearer ${this.token}`, ...(data && { 'content-type': 'application/json', 'content-length': data.length }) };
      const req = request({ host: this.address, port: this.port, method, path, timeout: timeoutMs, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          let value: { error?: string };
          try {
            value = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { error?: string };
          } catch {
            // something else answered on the control port (or the body was cut off)
            return reject(
              new Error(`node ${this.name}: ${method} ${path}: the answer is not JSON (HTTP ${res.statusCode}); is a relaylab node listening there?`),
            );
          }
          if (res.statusCode === 200) resolve(value as T);
          else reject(new Error(`node ${this.name}: ${method} ${path}: ${value.error ?? res.statusCode}`));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`node ${this.name}: ${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(data);
    });
  }

  status(): Promise<NodeStatus> {
    return this.call('GET', '/status', undefined, 2000);
  }

  async submit(message: Submission): Promise<string> {
    return (await this.call<{ messageId: string }>('POST', '/submit', { from: message.from, to: message.to, raw: message.raw.toString('base64') })).messageId;
  }

  async advance(ms: number, kick = true): Promise<void> {
    await this.call('POST', '/advance', { ms, kick });
  }

  async kick(): Promise<void> {
    await this.call('POST', '/kick');
  }

  async down(): Promise<void> {
    await this.call('POST', '/down');
  }

  async up(): Promise<void> {
    await this.call('POST', '/up');
  }

  async fault(request: FaultRequest): Promise<void> {
    await this.call('POST', '/faults', request);
  }

  /** This node's mail for node `to` goes through a STARTTLS-stripping proxy from now on; its port. */
  async stripStartTls(to: string): Promise<number> {
    return (await this.call<{ port: number }>('POST', '/detour', { to })).port;
  }

  /** Up, healed, no detours: what a node attached to by a runner must be after a scenario. */
  async reset(): Promise<void> {
    await this.call('POST', '/reset');
  }

  async mailbox(address?: string): Promise<StoredMessage[]> {
    const list = await this.call<WireMessage[]>('GET', address === undefined ? '/mailboxes' : `/mailbox?address=${encodeURIComponent(address)}`);
    return list.map((m) => ({ ...m, raw: Buffer.from(m.raw, 'base64'), deliveredAt: new Date(m.deliveredAt) }));
  }

  /** Follows the node's trace from event `from`; returns a function that stops following. */
  follow(from: number, onEvent: (e: TraceEvent) => void, onError: (err: Error) => void): () => void {
    const req = request({ host: this.address, port: this.port, path: `/trace?from=${from}`, headers: { authorization: `Bearer ${this.token}` } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return void (stopped || onError(new Error(`node ${this.name}: GET /trace: HTTP ${res.statusCode}`)));
      }
      res.on(
        'data',
        jsonLines((v) => onEvent(v as TraceEvent)),
      );
      res.on('error', onError);
    });
    req.on('error', (err) => {
      if (!stopped) onError(err);
    });
    req.end();
    let stopped = false;
    return () => {
      stopped = true;
      req.destroy();
    };
  }
}
