import { certsCommand } from './certs';
import { ctlCommand } from './ctl';
import { dnsCommand } from './dns';
import { driveCommand } from './drive';
import { explainCommand } from './explain';
import { importCommand } from './import';
import { lintCommand } from './lint';
import { nodeCommand } from './node';
import { runCommand } from './run';
import type { Io } from './shared';
import { upCommand } from './up';

/** Every command: scenario runs, the long-running lab and the one-node-per-process modes. */
const COMMANDS: Record<string, (args: string[], io: Io) => Promise<number>> = {
  run: runCommand,
  up: upCommand,
  node: nodeCommand,
  dns: dnsCommand,
  certs: certsCommand,
  drive: driveCommand,
  ctl: ctlCommand,
  lint: lintCommand,
  explain: explainCommand,
  import: importCommand,
};

export function commandNamed(name: string): ((args: string[], io: Io) => Promise<number>) | undefined {
  return Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
}
