import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { FaultKind } from '@relaylab/core';
import {
  body,
  CONTROL_BODY_LIMIT,
  faultRequest,
  hostOf,
  integer,
  invalid,
  line,
  MAX_ADVANCE_MS,
  only,
  listenOn,
  Refused,
  sameSecret,
  send,
  shown,
  submission,
  SUBMIT_BODY_LIMIT,
  UNSPECIFIED,
  type FaultRequest,
  type NodeClock,
  type NodeStatus,
  type WireMessage,
} from './control-protocol';
import { relaylabNode, type LabNode } from './lab-node';
import { faultDetail } from './steps';
import type { ObservedTrace } from './trace-stream';

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
 *   GET  /clock                   { now, nextDue? }  lab time, and when the queue next has a retry,
 *                                      an expiry or a delay notice due (the runner's scheduler stops there)
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
  node: LabNode;
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

/** Every POST endpoint; each takes a JSON object (`{}` when it needs nothing). */
const ENDPOINTS = new Set(['POST /submit', 'POST /advance', 'POST /kick', 'POST /down', 'POST /up', 'POST /faults', 'POST /reset', 'POST /detour']);
const READS = ['GET /status', 'GET /clock', 'GET /mailbox', 'GET /mailboxes', 'GET /trace'];

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
    this.bound = await listenOn(this.server, port, address);
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
    if (key === 'GET /clock') {
      return send(res, 200, { now: this.target.now().toISOString(), nextDue: node.queue.nextDueAt()?.toISOString() } satisfies NodeClock);
    }
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
    const node = relaylabNode(this.target.node, `the ${f.fault} fault`);
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
    this.target.trace.emit({
      type: 'fault',
      at: this.target.now().toISOString(),
      realAt: new Date().toISOString(),
      node: this.target.node.name,
      fault,
      detail,
    });
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
