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
  }

  get(address: string): StoredMessage[] {
    return this.boxes.get(address.toLowerCase()) ?? [];
  }

  all(): StoredMessage[] {
    return [...this.boxes.values()].flat();
  }
}
