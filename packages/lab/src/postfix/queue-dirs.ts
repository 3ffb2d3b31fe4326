import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** The accounts Postfix's files belong to: mail_owner (postfix) and setgid_group (postdrop). */
export interface PostfixAccounts {
  uid: number;
  gid: number;
  postdropGid: number;
}

/**
 * The queue directories as Debian's postfix-files lists them (owner, group, mode), made directly:
 * `postfix check` makes the same ones but takes seconds, on every start of every Postfix node.
 */
const QUEUE_DIRS: Array<[name: string, owner: 'root' | 'postfix', group: 'root' | 'postfix' | 'postdrop', mode: number]> = [
  ['active', 'postfix', 'root', 0o700],
  ['bounce', 'postfix', 'root', 0o700],
  ['corrupt', 'postfix', 'root', 0o700],
  ['defer', 'postfix', 'root', 0o700],
  ['deferred', 'postfix', 'root', 0o700],
  ['flush', 'postfix', 'root', 0o700],
  ['hold', 'postfix', 'root', 0o700],
  ['incoming', 'postfix', 'root', 0o700],
  ['private', 'postfix', 'root', 0o700],
  ['maildrop', 'postfix', 'postdrop', 0o1730],
  ['public', 'postfix', 'postdrop', 0o710],
  ['pid', 'root', 'root', 0o755],
  ['saved', 'postfix', 'root', 0o700],
  ['trace', 'postfix', 'root', 0o700],
];

export function prepareQueue(queue: string, data: string, accounts: PostfixAccounts): void {
  const uidOf = (owner: string) => (owner === 'root' ? 0 : accounts.uid);
  const gidOf = (group: string) => (group === 'root' ? 0 : group === 'postdrop' ? accounts.postdropGid : accounts.gid);
  mkdirSync(queue, { recursive: true });
  chmodSync(queue, 0o755);
  for (const [name, owner, group, mode] of QUEUE_DIRS) {
    const dir = join(queue, name);
    mkdirSync(dir, { recursive: true });
    chownSync(dir, uidOf(owner), gidOf(group));
    chmodSync(dir, mode);
  }
  mkdirSync(data, { recursive: true });
  chownSync(data, accounts.uid, accounts.gid);
  chmodSync(data, 0o700);
}
