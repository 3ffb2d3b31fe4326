import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
// Types only: this module is loaded on the main thread, which must stay small (shared.ts and up.ts load the whole lab).
import type { Io } from './shared';

/**
 * The old-generation bound of the lab's heap, in MB. A lab up for days holds a bounded working set
 * (the trace's latest events and index, the web view's latest messages, each mailbox's latest few,
 * what is in flight) of some 40 MB on the hybrid topology; without a bound V8 let the heap grow to
 * 150 MB of mostly garbage, and the process to 220 MB. Sized to leave that working set room for
 * bursts and a large topology, so that a normal lab never meets it.
 */
export const UP_HEAP_MB = 160;

/** The young generation's bound: V8's default (48 MB on 64-bit) is room for garbage, not for what the lab keeps. */
const UP_YOUNG_MB = 16;

/** `--max-heap` (or RELAYLAB_MAX_HEAP) in MB: the default when not given, undefined when not a size. */
export function heapMb(value: unknown): number | undefined {
  if (value === undefined || value === '') return UP_HEAP_MB;
  return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** A heap bound the user set for node itself: theirs to choose, so `up` adds none unless --max-heap asks for one. */
const nodeBound = () => [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => /^--max[-_]old[-_]space[-_]size\b/.test(a));

/** The bound `up` runs the lab within, or undefined to run it on this thread as it is. */
function boundFor(args: string[]): number | undefined {
  // Under ts-jest there is no compiled worker file to start; the lab runs in the test's thread.
  if (__filename.endsWith('.ts')) return undefined;
  // Only --max-heap and --help are read here; up.ts parses (and rejects) everything else.
  const { values } = parseArgs({
    args,
    options: { 'max-heap': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: false,
    allowPositionals: true,
  });
  const asked = values['max-heap'] ?? process.env.RELAYLAB_MAX_HEAP;
  if (values.help || (asked === undefined && nodeBound())) return undefined;
  const mb = heapMb(asked);
  return mb === 0 ? undefined : mb;
}

/**
 * `relaylab up` within a heap bound the user need not ask for. The lab runs in a worker thread with
 * V8 resource limits rather than in a child node with --max-old-space-size: one process, so one PID
 * to stop and one RSS, and no second node runtime (some 40 MB) beside the lab. Signals reach only
 * this (main) thread, which passes the first SIGINT or SIGTERM to the worker as a message (the lab
 * then shuts down as it always did) and returns the worker's exit code. A second signal ends the
 * process, as it did before. At the bound V8 stops the worker: this thread says so and exits 1.
 */
export async function upCommand(args: string[], io: Io): Promise<number> {
  const bound = boundFor(args);
  if (bound === undefined) return (await import('./up')).upCommand(args, io);
  // At the bound V8 tears the worker's isolate down; an optimizing compile running beside it on a
  // background thread could then allocate for the gone isolate and abort the whole process (an
  // assertion in node's platform, exit 134) instead of the line below: 1 start in 7 at --max-heap 8,
  // none in 18 with optimizing compiles on the lab's own thread, which costs it a little while it warms up.
  setFlagsFromString('--no-concurrent-recompilation');
  const worker = new Worker(join(__dirname, 'up-worker.js'), {
    workerData: { args, tty: { out: (io.out as NodeJS.WriteStream).isTTY === true, err: (io.err as NodeJS.WriteStream).isTTY === true } },
    stdout: true,
    stderr: true,
    resourceLimits: { maxOldGenerationSizeMb: bound, maxYoungGenerationSizeMb: UP_YOUNG_MB },
  });
  worker.stdout.pipe(io.out, { end: false });
  worker.stderr.pipe(io.err, { end: false });
  const forward = (signal: NodeJS.Signals) => {
    process.removeListener('SIGINT', forward);
    process.removeListener('SIGTERM', forward);
    worker.postMessage({ signal });
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  let code: number | undefined;
  worker.on('message', (m: { code: number }) => {
    code = m.code;
    // The lab has returned its code: as the CLI's process.exit does on the main thread, anything it
    // left open (a listener of a lab that failed half started) must not keep the worker, and with
    // it this process, alive; its output is already on its way, so a moment is enough.
    setTimeout(() => void worker.terminate(), 1000).unref();
  });
  let failure: Error | undefined;
  worker.on('error', (e) => (failure = e));
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  // Everything the lab wrote is passed on before the command returns.
  const [exitCode] = await Promise.all([exited, finished(worker.stdout), finished(worker.stderr)]);
  process.removeListener('SIGINT', forward);
  process.removeListener('SIGTERM', forward);
  if ((failure as NodeJS.ErrnoException | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    io.err.write(
      `relaylab up: the lab reached its heap bound of ${bound} MB and was stopped; mail it answered 250 is in its queue (--out) and resumes on the next start. --max-heap <MB> sets the bound (0: none)\n`,
    );
    return 1;
  }
  if (failure) throw failure;
  return code ?? exitCode;
}
