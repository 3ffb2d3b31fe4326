import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Topology } from '@relaylab/core';
import { loadTopologyFile, relocateTopology } from '@relaylab/lab';

export interface Io {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

/** Bad input: the command prints the message and exits 2, as `run` does. */
export class UsageError extends Error {}

/** The lab cannot start as asked (a port is taken): one line, exit 2, no help text. */
export class StartError extends Error {}

/** Input that is wrong in a way the help text would not explain (a bad --grep, an invalid file): one line, exit 2. */
export class InputError extends Error {}

/**
 * `listen EADDRINUSE` (a stack trace from deep in node:net) as one line: which listener of the
 * lab could not bind, where, and the option that moves it. `owner` names the listener on
 * `address:port` and that option; any other error is returned as it came.
 */
export function portInUse(e: unknown, owner: (address: string, port: number) => { listener: string; option: string }): unknown {
  const err = e as (NodeJS.ErrnoException & { address?: string; port?: number }) | undefined;
  if (err?.code !== 'EADDRINUSE' || err.address === undefined || err.port === undefined) return e;
  const { listener, option } = owner(err.address, err.port);
  return new StartError(`${listener} cannot listen on ${err.address}:${err.port}: another program holds that port; stop it, or choose another with ${option}`);
}

/**
 * Flags with environment fallbacks (`--dns` ← `RELAYLAB_DNS`), because a compose file or a
 * systemd unit sets the environment more naturally than it builds an argv.
 */
export function parseWithEnv<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, allowPositionals = false) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  for (const [name, spec] of Object.entries(options)) {
    const env = process.env[`RELAYLAB_${name.toUpperCase().replace(/-/g, '_')}`];
    if (values[name] === undefined && env !== undefined && env !== '') values[name] = spec.type === 'boolean' ? env === '1' || env === 'true' : env;
  }
  return { values, positionals: parsed.positionals };
}

export function intOption(values: Record<string, unknown>, name: string): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--${name} expects a port number, got "${v}"`);
  return n;
}

export function required(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || !v) throw new UsageError(`--${name} is required (or RELAYLAB_${name.toUpperCase().replace(/-/g, '_')})`);
  return v;
}

/** The topology file, moved to the relocation prefix when one is given (compose networks). */
export function loadTopology(file: string, relocate: string | undefined): Topology {
  let topology: Topology;
  try {
    topology = loadTopologyFile(resolve(file));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return relocate ? relocateTopology(topology, relocate) : topology;
}

/** pino: JSON lines by default (for log shippers and `docker compose logs`), pretty on a terminal. */
export function makeLogger(level: string | undefined, fd: 1 | 2 = 1): Logger {
  const stream = fd === 1 ? process.stdout : process.stderr;
  const lvl = level ?? 'info';
  if (stream.isTTY && !process.env.RELAYLAB_LOG_JSON) return pino({ level: lvl }, pretty({ destination: fd, colorize: true }));
  return pino({ level: lvl }, pino.destination({ fd, sync: true }));
}

/** Resolves on the first SIGINT or SIGTERM (Ctrl-C, `docker stop`), then stops listening for them. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolveSignal) => {
    const on = (signal: NodeJS.Signals) => {
      process.removeListener('SIGINT', on);
      process.removeListener('SIGTERM', on);
      resolveSignal(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export async function guarded(name: string, io: Io, help: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof UsageError) {
      io.err.write(`relaylab ${name}: ${e.message}\n\n${help}`);
      return 2;
    }
    if (e instanceof StartError || e instanceof InputError) {
      io.err.write(`relaylab ${name}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
