import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { TraceEvent } from '@relaylab/core';
import type { FaultCommand, MailNode, StoredMessage, Submission } from '@relaylab/mta';
import { faultDetail } from './steps';
import type { ObservedTrace } from './trace-stream';
import { jsonLines } from './trace-stream';

/**
 * A node's control API: what the embedded runner does with method calls (submit as a user of the
 * node, ask whether it is idle, move its clock, read a mailbox, follow its trace) as HTTP on the
 * node's own address, so a runner in another process or container can drive it. No
 * authentication: it listens on the lab's loopback or compose network only.
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

/** A stored message on the wire: every field the mailbox keeps, bytes as base64. */
export type WireMessage = Omit<StoredMessage, 'raw' | 'deliveredAt'> & { raw: string; deliveredAt: string };

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
}

function send(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

export class NodeControlServer {
  private readonly server: Server;
  private readonly followers = new Set<ServerResponse>();

  constructor(private readonly target: ControlledNode) {
    this.server = createServer((req, res) => {
      this.route(req, res).catch((err: Error) => send(res, 400, { error: err.message }));
    });
  }

  async listen(port: number, address: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, address, () => {
        this.server.removeListener('error', reject);
        resolve();
      });
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://node');
    const { node, trace } = this.target;
    const key = `${req.method} ${url.pathname}`;
    if (key === 'GET /status') return send(res, 200, { node: node.name, idle: node.isIdle(), events: trace.events.length } satisfies NodeStatus);
    if (key === 'POST /submit') {
      const b = (await body(req)) as { from: string; to: string[]; raw: string };
      return send(res, 200, { messageId: node.submit({ from: b.from, to: b.to, raw: Buffer.from(b.raw, 'base64') }) });
    }
    if (key === 'POST /advance') {
      const b = (await body(req)) as { ms: number; kick?: boolean };
      this.target.advance(Number(b.ms), b.kick !== false);
      return send(res, 200, {});
    }
    if (key === 'POST /kick') {
      node.queue.kick();
      return send(res, 200, {});
    }
    if (key === 'GET /mailbox' || key === 'GET /mailboxes') {
      const list = key === 'GET /mailbox' ? node.mailboxes.get(url.searchParams.get('address') ?? '') : node.mailboxes.all();
      return send(res, 200, list.map((m) => ({ ...m, raw: m.raw.toString('base64'), deliveredAt: m.deliveredAt.toISOString() }) satisfies WireMessage));
    }
    if (key === 'GET /trace') return this.follow(res, Number(url.searchParams.get('from') ?? 0));
    if (key === 'POST /down') {
      await node.takeDown();
      this.fault('down', faultDetail.down(node.name, `${this.target.address}:${node.port}`));
      return send(res, 200, {});
    }
    if (key === 'POST /up') {
      await node.bringUp();
      this.fault('up', faultDetail.up(node.name, `${this.target.address}:${node.port}`));
      return send(res, 200, {});
    }
    if (key === 'POST /faults') {
      this.switchFault((await body(req)) as FaultRequest);
      return send(res, 200, {});
    }
    if (key === 'POST /reset') {
      // A runner attached to long-running nodes leaves them as it found them: up, healthy, no detours.
      await node.bringUp();
      this.switchFault({ fault: 'heal' });
      await this.target.clearDetours?.();
      return send(res, 200, {});
    }
    if (key === 'POST /detour') {
      const { to } = (await body(req)) as { to: string };
      if (!this.target.stripStartTls) throw new Error('this node cannot set up detours');
      return send(res, 200, { port: await this.target.stripStartTls(to) });
    }
    send(res, 404, { error: `no such control endpoint: ${key}` });
  }

  private switchFault(f: FaultRequest): void {
    const { node } = this.target;
    const times = (t: unknown) => (t === undefined || t === null ? undefined : Number(t));
    switch (f.fault) {
      case 'fail':
        node.faults.fail(f.command, f.reply, times(f.times));
        return this.fault('fail', faultDetail.fail(node.name, f.command, f.reply, times(f.times)));
      case 'dropDuringData':
        node.faults.dropDuringData(times(f.times));
        return this.fault('dropDuringData', faultDetail.dropDuringData(node.name, times(f.times)));
      case 'tlsHandshakeFails':
        node.faults.tlsHandshakeFails(times(f.times));
        return this.fault('tlsHandshakeFails', faultDetail.tlsHandshakeFails(node.name, times(f.times)));
      case 'slow':
        node.faults.slow(Number(f.delayMs));
        return this.fault('slow', faultDetail.slow(node.name, Number(f.delayMs)));
      case 'heal':
        node.faults.heal();
        return this.fault('heal', faultDetail.heal(node.name));
      default:
        throw new Error(`no such fault: ${(f as { fault?: unknown }).fault}`);
    }
  }

  /** Records what the runner broke on this node, so the trace tells the whole story. */
  private fault(fault: 'down' | 'up' | 'fail' | 'dropDuringData' | 'tlsHandshakeFails' | 'slow' | 'heal', detail: string): void {
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
  constructor(readonly name: string, readonly address: string, readonly port: number) {}

  private call<T>(method: string, path: string, payload?: unknown, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const data = payload === undefined ? undefined : Buffer.from(JSON.stringify(payload));
      const req = request({ host: this.address, port: this.port, method, path, timeout: timeoutMs, headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          let value: { error?: string };
          try {
            value = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { error?: string };
          } catch {
            // something else answered on the control port (or the body was cut off)
            return reject(new Error(`node ${this.name}: ${method} ${path}: the answer is not JSON (HTTP ${res.statusCode}); is a relaylab node listening there?`));
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
    const req = request({ host: this.address, port: this.port, path: `/trace?from=${from}` }, (res) => {
      res.on('data', jsonLines((v) => onEvent(v as TraceEvent)));
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
