import { request } from 'node:http';
import type { TraceEvent } from '@relaylab/core';
import type { StoredMessage, Submission } from '@relaylab/mta';
import type { FaultRequest, NodeClock, NodeStatus, WireMessage } from './control-protocol';
import { jsonLines } from './trace-stream';

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

  /** The node's lab time and when its queue next has something due. */
  clock(): Promise<NodeClock> {
    return this.call('GET', '/clock', undefined, 2000);
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
