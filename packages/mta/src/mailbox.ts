/** What was delivered to each mailbox, bytes exactly as the last hop stored them. */
export interface StoredMessage {
  messageId: string;
  from: string;
  recipient: string;
  raw: Buffer;
  deliveredAt: Date;
  folder: string;
}

/**
 * Mailboxes in memory. Unbounded by default (a scenario's assertions read every message); a lab
 * kept up for days, or a load run, bounds it: each mailbox keeps its latest `limit` messages, the
 * older ones living on only where the caller wrote them (`relaylab up --out` writes .eml files).
 */
export class MailboxStore {
  private readonly boxes = new Map<string, StoredMessage[]>();
  private limit = Infinity;
  /** Messages put since the store was made, dropped ones included. */
  delivered = 0;
  /** Where each message put is also kept (`relaylab up`'s .eml files); resolves once it, and every one before it, is on disk. */
  private keep?: (message: StoredMessage) => Promise<void>;
  /** The latest message kept: the node's 250 for a message delivered here waits for it. */
  kept?: Promise<void>;

  /** From now on each message put is also handed to `keep`, whose promise a 250 waits for. */
  keepWith(keep: (message: StoredMessage) => Promise<void>): void {
    this.keep = keep;
  }

  /** From now on each mailbox keeps at most `limit` messages (the latest); trims the ones it holds. */
  bound(limit: number): void {
    if (!(limit >= 0)) throw new Error(`a mailbox limit is a number of messages, 0 or more; got ${limit}`);
    this.limit = limit;
    for (const list of this.boxes.values()) if (list.length > limit) list.splice(0, list.length - limit);
  }

  put(message: StoredMessage): void {
    this.delivered++;
    const key = message.recipient.toLowerCase();
    const list = this.boxes.get(key) ?? [];
    list.push(message);
    if (list.length > this.limit) list.splice(0, list.length - this.limit);
    this.boxes.set(key, list);
    if (this.keep) this.kept = this.keep(message);
  }

  get(address: string): StoredMessage[] {
    return this.boxes.get(address.toLowerCase()) ?? [];
  }

  all(): StoredMessage[] {
    return [...this.boxes.values()].flat();
  }
}
