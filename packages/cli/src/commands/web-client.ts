import { resolve } from 'node:path';
import { controlTokenFile, readControlToken } from '@relaylab/lab';
import { WEB_PORT } from '../web/server';
import { StartError, UsageError } from './shared';

/**
 * A client of the web API of a running `relaylab up` (docs/web.md), as `relaylab ctl` and
 * `relaylab load --web` use it: the address from --web (or $RELAYLAB_WEB), the lab's control
 * token from <certs>/control-token, and one clear line when the API does not answer or refuses.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export const WEB_OPTIONS = {
  web: { type: 'string' },
  certs: { type: 'string' },
  'control-token-file': { type: 'string' },
} as const;

export interface WebTarget {
  /** ip:port */
  web: string;
  token: string;
}

export function webTarget(values: Record<string, unknown>): WebTarget {
  const web = (values.web as string | undefined) ?? `127.0.0.1:${WEB_PORT}`;
  if (!/^[0-9.]+:\d+$/.test(web)) throw new UsageError(`--web expects <ip:port>, such as 127.0.0.1:${WEB_PORT}; got "${web}"`);
  const certsDir = resolve((values.certs as string | undefined) ?? process.env.RELAYLAB_CERTS ?? 'certs');
  const file = resolve((values['control-token-file'] as string | undefined) ?? controlTokenFile(certsDir));
  let token: string;
  try {
    token = readControlToken(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new StartError(err.code === 'ENOENT' ? `no control token at ${file}: give the --certs of the running lab (or --control-token-file)` : err.message);
  }
  return { web, token };
}

/** Why a fetch to the API failed, in words: the cause (ECONNREFUSED …) rather than "fetch failed". */
export function unreachable(target: WebTarget, err: unknown): StartError {
  const e = err as Error & { cause?: Error };
  return new StartError(`no relaylab web API answers at ${target.web} (${e.cause?.message ?? e.message}); is \`relaylab up\` running?`);
}

export function webCaller(target: WebTarget) {
  return async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<Json> => {
    let res: Response;
    try {
      res = await fetch(`http://${target.web}${path}`, {
        method,
        headers: { authorization: `Bearer ${target.token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw unreachable(target, err);
    }
    const answer = (await res.json().catch(() => ({}))) as Json;
    if (!res.ok) throw new StartError(`${method} ${path}: ${res.status} ${answer.error ?? res.statusText}`);
    return answer;
  };
}
