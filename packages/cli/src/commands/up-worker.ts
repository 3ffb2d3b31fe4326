import { parentPort, workerData } from 'node:worker_threads';
import { upCommand } from './up';

// The lab of `relaylab up` in the worker thread that up-bounded.ts starts. Signals reach only the
// main thread, which passes the first one on as a message.
const port = parentPort!;
const { args, tty } = workerData as { args: string[]; tty: { out: boolean; err: boolean } };
// The worker's stdout and stderr are pipes to the main thread; whether a person reads them (so that
// --verbose logs come out readable, not as JSON) is what the main thread's streams are.
Object.defineProperty(process.stdout, 'isTTY', { value: tty.out });
Object.defineProperty(process.stderr, 'isTTY', { value: tty.err });
const signalled = new Promise<NodeJS.Signals>((resolve) => port.once('message', (m: { signal: NodeJS.Signals }) => resolve(m.signal)));

void upCommand(args, { out: process.stdout, err: process.stderr }, () => signalled).then((code) => {
  port.postMessage({ code });
  // A lab that stopped on its own (bad arguments, a port taken) was never signalled: the port's
  // listener must not hold the worker open.
  port.unref();
});
