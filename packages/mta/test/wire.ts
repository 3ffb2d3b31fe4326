import { connect, type Socket } from 'node:net';

/** A raw SMTP client for hostile-input tests: write bytes, read what the server answered. */
export class Wire {
  private text = '';
  private closed = false;
  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => (this.text += d.toString('latin1')));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  static open(host: string, port: number, localAddress?: string): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port, localAddress }, () => resolve(new Wire(s)));
      s.once('error', reject);
    });
  }

  get transcript(): string {
    return this.text;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  /** Resolves with the transcript once it matches, or rejects with it when time runs out. */
  async waitFor(re: RegExp, ms = 5000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!re.test(this.text)) {
      if (Date.now() > deadline) throw new Error(`no ${re} in:\n${this.text}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.text;
  }

  async waitClosed(ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error(`connection still open; transcript:\n${this.text}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
