import { isIP } from 'node:net';
import { UsageError } from './shared';

/** The flag that lets a command listen off loopback; named for what it does, so nobody passes it by accident. */
export const ALLOW_NON_LOOPBACK = 'allow-non-loopback';

export const ALLOW_NON_LOOPBACK_HELP = `  --${ALLOW_NON_LOOPBACK}   listen on an address outside 127.0.0.0/8 (--address, --listen,
                         --dns, or --relocate outside private networks); the lab is then
                         reachable from the network, and the command says so on stderr
`;

const isLoopback = (ip: string) => (isIP(ip) === 4 && ip.startsWith('127.')) || ip === '::1';

/** RFC 1918 and loopback: where a compose network can put the lab without leaving private address space. */
const isPrivatePrefix = (prefix: string) => {
  const [a, b = 0] = prefix.split('.').map(Number);
  return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
};

export interface BindRequest {
  /** The command, for the messages: `node`, `dns`, `up`, `drive`. */
  command: string;
  /** What listens there, e.g. "SMTP and the control API", "the DNS service". */
  what: string;
  /** The option that chose the address, for the messages, e.g. `--address`. */
  option: string;
  address: string;
  /** --allow-non-loopback was given. */
  allowed: boolean;
  /** --relocate's prefix, if any: binding inside it is what relocation (compose) asks for. */
  relocate?: string;
  err: NodeJS.WritableStream;
}

/**
 * Binds stay on loopback unless asked. The lab's nodes relay mail without authentication and
 * their control API submits and reads mail; on 0.0.0.0 or a LAN address anyone who can reach the
 * host could use them. Asked explicitly (--allow-non-loopback), or by relocating the lab into a
 * private compose network, the command still says plainly on stderr where it is listening.
 */
export function checkBind(r: BindRequest): void {
  if (!isIP(r.address)) throw new UsageError(`${r.option} expects an IP address; found "${r.address}"`);
  if (isLoopback(r.address)) return;
  const relocated = r.relocate !== undefined && r.address.startsWith(`${r.relocate}.`);
  if (relocated && !r.allowed && !isPrivatePrefix(r.relocate!)) {
    throw new UsageError(
      `--relocate ${r.relocate} is not in a private network (10/8, 172.16/12, 192.168/16): ${r.what} would listen on ${r.address}; pass --${ALLOW_NON_LOOPBACK} to do it anyway`,
    );
  }
  if (!relocated && !r.allowed) {
    throw new UsageError(
      `${r.option} ${r.address} is not a loopback address: ${r.what} would be reachable from the network; pass --${ALLOW_NON_LOOPBACK} to do it anyway`,
    );
  }
  const why = relocated ? `relocated by --relocate ${r.relocate}` : `--${ALLOW_NON_LOOPBACK}`;
  r.err.write(
    `relaylab ${r.command}: WARNING: listening on ${r.address} (${r.what}), not on loopback (${why}): anything that can reach that address can use it\n`,
  );
}
