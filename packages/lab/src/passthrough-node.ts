import type { Clock, Topology, TraceSink } from '@relaylab/core';
import { TcpPassThrough, type Directory, type StoredMessage, type Submission } from '@relaylab/mta';

export interface PassThroughNodeOptions {
  topology: Topology;
  name: string;
  clock: Clock;
  trace: TraceSink;
  directory: Directory;
  port: number;
}

/**
 * A node with role `passthrough`: a firewall or load balancer between two hosts. It forwards TCP
 * to its `forwardTo` node and keeps the client's address, so it is no SMTP hop: the receiver
 * classifies by what it sees on the wire, which is the client. It has no queue, no mailboxes and
 * no users; each forwarded connection is traced (`forwarded`) so hops are followed through it.
 */
export class PassThroughNode {
  readonly mailboxes = { all: (): StoredMessage[] => [], get: (_address: string): StoredMessage[] => [], bound: (_limit: number): void => undefined };
  readonly queue = { kick: (): void => undefined, nextDueAt: (): Date | undefined => undefined, pending: (): readonly never[] => [] };
  spoolWarnings: string[] = [];
  private readonly forwarder: TcpPassThrough;
  private down = false;

  constructor(private readonly o: PassThroughNodeOptions) {
    const spec = o.topology.nodes[o.name]!;
    const behind = spec.forwardTo ? o.topology.nodes[spec.forwardTo] : undefined;
    if (!spec.forwardTo || !behind) throw new Error(`node ${o.name} has role passthrough and needs forwardTo naming another node`);
    const to = spec.forwardTo;
    this.forwarder = new TcpPassThrough({
      address: spec.address,
      port: o.port,
      target: () => ({ ip: behind.address, port: o.directory.portOf(behind.address, behind.hostname) }),
      onForward: (link) => o.trace.emit({ type: 'forwarded', at: o.clock.now().toISOString(), node: o.name, ...link, to }),
    });
  }

  get name(): string {
    return this.o.name;
  }

  get port(): number {
    return this.forwarder.port;
  }

  get isDown(): boolean {
    return this.down;
  }

  start(): Promise<void> {
    return this.forwarder.listen();
  }

  stop(): Promise<void> {
    return this.forwarder.close();
  }

  async takeDown(): Promise<void> {
    if (this.down) return;
    this.down = true;
    await this.forwarder.close();
  }

  async bringUp(): Promise<void> {
    if (!this.down) return;
    await this.forwarder.listen();
    this.down = false;
  }

  isIdle(): boolean {
    return true;
  }

  submit(_message: Submission): string {
    throw new Error(`node ${this.o.name} is a pass-through device (role passthrough): it forwards TCP and has no users who send mail`);
  }
}
