import { parentPort, workerData } from 'node:worker_threads';
import { upCommand } from './up';

// The lab of `relaylab up` in the worker thread that up-bounded.ts starts. Signals reach only the
// main thread, which passes the first one on as a message.
const port = parentPort!;
const signalled = new Promise<NodeJS.Signals>((resolve) => port.once('message', (m: { signal: NodeJS.Signals }) => resolve(m.signal)));

void upCommand((workerData as { args: string[] }).args, { out: process.stdout, err: process.stderr }, () => signalled).then((code) => {
  port.postMessage({ code });
  // A lab that stopped on its own (bad arguments, a port taken) was never signalled: the port's
  // listener must not hold the worker open.
  port.unref();
});
