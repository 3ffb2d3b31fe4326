import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

/**
 * Helpers for tests that run the built `relaylab` command as real child processes.
 *
 * Such tests bind fixed ports (nodes find each other by the topology, not by asking the OS),
 * chosen per run by freePortBase below Linux's ephemeral range (32768–60999): there, another
 * test's outgoing connection from 127.0.0.20 or UDP query could already hold the port.
 */
export const repo = resolve(__dirname, '../../..');
export const BIN = resolve(repo, 'packages/cli/bin/relaylab.js');

export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves when stdout (or stderr) has a line matching `re`; rejects if the process ends first. */
  waitFor(re: RegExp, timeoutMs?: number, stream?: 'stdout' | 'stderr'): Promise<string>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  /** The exit code, once the process ends by itself. */
  exited: Promise<number | null>;
}

export function startRelaylab(args: string[], env: NodeJS.ProcessEnv = {}, cwd = repo): Running {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  let closed = false;
  // On 'close', not 'exit': then everything the process wrote has been read.
  const exited = new Promise<number | null>((r) =>
    child.once('close', (code) => {
      closed = true;
      r(code);
    }),
  );
  return {
    child,
    exited,
    stdout: () => out,
    stderr: () => err,
    waitFor(re, timeoutMs = 20_000, stream = 'stdout') {
      // Checked on every chunk the process writes and when it ends: no polling interval to wait out.
      return new Promise((resolveWait, reject) => {
        const source = stream === 'stdout' ? child.stdout! : child.stderr!;
        const done = () => {
          clearTimeout(timer);
          source.off('data', check);
          child.off('close', ended);
        };
        const check = () => {
          const m = (stream === 'stdout' ? out : err).match(re);
          if (m) {
            done();
            resolveWait(m[0]);
          }
        };
        const ended = () => {
          check();
          done(); // a match in the last output resolved already; this rejection is then ignored
          reject(new Error(`relaylab ${args[0]} ended (${child.exitCode}) before ${re}:\n${out}\n${err}`));
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${re} within ${timeoutMs} ms:\n${out}\n${err}`));
        }, timeoutMs);
        source.on('data', check);
        child.on('close', ended);
        if (closed) return ended();
        check();
      });
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

function bindable(kind: 'tcp' | 'udp', address: string, port: number): Promise<boolean> {
  return new Promise((resolveBind) => {
    if (kind === 'udp') {
      const s = createSocket('udp4');
      s.once('error', () => resolveBind(false));
      s.bind(port, address, () => s.close(() => resolveBind(true)));
      return;
    }
    const s = createServer();
    s.once('error', () => resolveBind(false));
    s.listen(port, address, () => s.close(() => resolveBind(true)));
  });
}

/**
 * A base port where `base + offset` is free on every address for each offset (TCP) and `base +
 * udpOffset` for UDP on `udpAddress`: a random one below the ephemeral range, so two test runs
 * on one machine (a developer's and a colleague's) do not take each other's fixed ports.
 */
export async function freePortBase(addresses: string[], offsets: number[], udp?: { address: string; offset: number }): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 10_000 + Math.floor(Math.random() * 200) * 100;
    const checks = addresses.flatMap((a) => offsets.map((o) => bindable('tcp', a, base + o)));
    if (udp) checks.push(bindable('udp', udp.address, base + udp.offset), bindable('tcp', udp.address, base + udp.offset));
    if ((await Promise.all(checks)).every(Boolean)) return base;
  }
  throw new Error('no free port base found');
}
