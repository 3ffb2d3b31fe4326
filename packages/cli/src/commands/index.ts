import type { Io } from './shared';

type Command = (args: string[], io: Io) => Promise<number>;

/**
 * Every command: scenario runs, the long-running lab and the one-node-per-process modes. Each is
 * loaded when it is run, not before: `relaylab --help` must not pay for starting the whole lab
 * (certificates, SMTP, reports), and each command loads only what it uses.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./run')).runCommand,
  up: async () => (await import('./up-bounded')).upCommand,
  load: async () => (await import('./load')).loadCommand,
  node: async () => (await import('./node')).nodeCommand,
  dns: async () => (await import('./dns')).dnsCommand,
  certs: async () => (await import('./certs')).certsCommand,
  drive: async () => (await import('./drive')).driveCommand,
  ctl: async () => (await import('./ctl')).ctlCommand,
  lint: async () => (await import('./lint')).lintCommand,
  explain: async () => (await import('./explain')).explainCommand,
  import: async () => (await import('./import')).importCommand,
  rehearse: async () => (await import('./rehearse')).rehearseCommand,
};

export function commandNamed(name: string): Command | undefined {
  if (!Object.hasOwn(COMMANDS, name)) return undefined;
  const load = COMMANDS[name]!;
  return async (args, io) => (await load())(args, io);
}
