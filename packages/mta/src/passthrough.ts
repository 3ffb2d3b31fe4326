import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Endpoint } from '@relaylab/core';

export interface PassThroughOptions {
  /** The device's own address and port (0: any free port). */
  address: string;
  port: number;
  /** Where each connection goes now (asked per connection: the node behind may have moved port after a restart). */
  target(): Endpoint;
  /** Each forwarded connection, once both ends are up. */
  onForward(link: { client: Endpoint; local: Endpoint; target: Endpoint }): void;
}

const endpointOf = (ip: string | undefined, port: number | undefined): Endpoint => ({ ip: (ip ?? '').replace(/^::ffff:/, ''), port: port ?? 0 });

/**
 * A firewall or load balancer in the path: it joins each client connection to one it opens to the
 * target and copies bytes both ways, never reading SMTP (TLS stays end to end). Its connection
 * onward is bound to the client's own address, as a transparent device keeps the source IP: on
 * loopback any 127.x address can be bound, so the receiver sees the client's address and
 * certificate, exactly what it would see without the device.
 */
export class TcpPassThrough {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private boundPort: number;

  constructor(private readonly o: PassThroughOptions) {
    this.boundPort = o.port;
  }

  get port(): number {
    return this.boundPort;
  }

  async listen(): Promise<void> {
    const server = createServer((client) => this.handle(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort, this.o.address, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    server.on('error', () => undefined);
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
  }

  private handle(client: Socket): void {
    const from = endpointOf(client.remoteAddress, client.remotePort);
    const target = this.o.target();
    const upstream = connect({ host: target.ip, port: target.port, localAddress: from.ip });
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    // Until the target answers, what the client sends waits in the pipe; a refused target closes the client.
    upstream.once('connect', () => this.o.onForward({ client: from, local: endpointOf(upstream.localAddress, upstream.localPort), target }));
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Stops listening and cuts what it carries, as a device switched off does. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
