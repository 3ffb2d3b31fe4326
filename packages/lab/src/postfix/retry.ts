/**
 * When Postfix would try a deferred message again, on the lab clock: its backoff starts at
 * minimal_backoff_time (300 s) and doubles up to maximal_backoff_time (4000 s), the values the
 * written main.cf sets. Postfix itself keeps real time; the lab flushes its queue when this says.
 */
export const MINIMAL_BACKOFF_MS = 300_000;
export const MAXIMAL_BACKOFF_MS = 4_000_000;

export function nextRetryMs(deferrals: number): number {
  return Math.min(MINIMAL_BACKOFF_MS * 2 ** Math.max(0, deferrals - 1), MAXIMAL_BACKOFF_MS);
}
