import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { messageIdOf } from '@relaylab/core';
import type { StoredMessage } from '@relaylab/mta';

/**
 * The mailboxes Postfix's virtual delivery agent wrote (one Maildir per address), read the way
 * the runner reads a relaylab node's MailboxStore: bytes exactly as stored.
 */
export class MaildirBoxes {
  constructor(private readonly base: string) {}

  /** The messages are Postfix's files on disk, read when asked: nothing held in memory to bound. */
  bound(_limit: number): void {}

  all(): StoredMessage[] {
    let addresses: string[];
    try {
      addresses = readdirSync(this.base);
    } catch {
      return [];
    }
    return addresses.flatMap((a) => this.get(a));
  }

  get(address: string): StoredMessage[] {
    const dir = join(this.base, address.toLowerCase());
    const out: StoredMessage[] = [];
    for (const sub of ['new', 'cur']) {
      let names: string[];
      try {
        names = readdirSync(join(dir, sub)).sort();
      } catch {
        continue;
      }
      for (const name of names) {
        const file = join(dir, sub, name);
        const raw = readFileSync(file);
        const from = /^Return-Path: <([^>]*)>/im.exec(raw.subarray(0, 4096).toString('latin1'))?.[1] ?? '';
        out.push({ messageId: messageIdOf(raw) ?? name, from, recipient: address.toLowerCase(), raw, deliveredAt: statSync(file).mtime, folder: 'Inbox' });
      }
    }
    return out;
  }
}
