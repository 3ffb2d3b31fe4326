/** What was delivered to each mailbox, bytes exactly as the last hop stored them. */
export interface StoredMessage {
  messageId: string;
  from: string;
  recipient: string;
  raw: Buffer;
  deliveredAt: Date;
  folder: string;
}

export class MailboxStore {
  private readonly boxes = new Map<string, StoredMessage[]>();

  put(message: StoredMessage): void {
    const key = message.recipient.toLowerCase();
    const list = this.boxes.get(key) ?? [];
    list.push(message);
    this.boxes.set(key, list);
  }

  get(address: string): StoredMessage[] {
    return this.boxes.get(address.toLowerCase()) ?? [];
  }

  all(): StoredMessage[] {
    return [...this.boxes.values()].flat();
  }
}
