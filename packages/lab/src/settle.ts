import { PostfixNode } from './postfix/postfix-node';
import type { LabNode } from './lab-node';

/**
 * How long settle waits before looking again at what cannot say when it is done: a Postfix node
 * (its state is read from its queue files and log), or a queue with work due that a kick did not start.
 */
export const SETTLE_POLL_MS = 15;

/** A timer that can be dropped once something else ended the wait first. */
function timer(ms: number): { done: Promise<void>; cancel(): void } {
  let handle: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve) => (handle = setTimeout(resolve, ms)));
  return { done, cancel: () => clearTimeout(handle) };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Waits until every node is idle: nothing delivering, nothing written to a spool, nothing due at
 * the present lab time. relaylab's own nodes say when an attempt or a spool write ends, so the
 * wait ends as soon as the last one does rather than at the next poll. A sender's attempt lasts
 * until the next hop's reply to DATA, which that hop sends only once it holds the message (queued,
 * spooled, or delivered), so a hop in flight is never mistaken for a quiet lab. Idleness is
 * confirmed once more after the event loop has run what was already waiting (socket data, timers
 * due); with a Postfix node, after another poll, as before. False if that took over `timeoutMs`.
 */
export async function settleNodes(nodes: () => Iterable<LabNode>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let confirming = false;
  for (;;) {
    const list = [...nodes()];
    const polled = list.some((n) => n instanceof PostfixNode);
    const busy = list.filter((n) => !n.isIdle());
    if (!busy.length) {
      if (confirming) return true;
      confirming = true;
      if (polled) {
        const t = timer(SETTLE_POLL_MS);
        await t.done;
      } else await nextTurn();
      continue;
    }
    confirming = false;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    const waits: Array<Promise<void>> = [];
    let poll = polled;
    for (const n of busy) {
      let ends = 'busyEnds' in n ? n.busyEnds() : undefined;
      if (!ends && !(n instanceof PostfixNode)) {
        // Work came due with nothing running: the lab clock runs on in real time between the
        // moments advance stops at, so a retry a few ms after the last moment falls due while the
        // lab settles. The queue's real-time tick would start it within a second; start it now.
        n.queue.kick();
        ends = 'busyEnds' in n ? n.busyEnds() : undefined;
      }
      if (ends) waits.push(ends);
      else poll = true;
    }
    const t = timer(poll ? Math.min(SETTLE_POLL_MS, left) : left);
    await Promise.race([...waits, t.done]);
    t.cancel();
  }
}
