import { resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../src/main';

export const repo = resolve(__dirname, '../../..');

/** `relaylab <args>` in this process, with what it printed on each stream. */
export async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d) => (o += d));
  err.on('data', (d) => (e += d));
  const code = await main(args, out, err);
  return { code, out: o, err: e };
}
