/**
 * The lab clock as a discrete-event scheduler. Jumping the clock by a whole `advance` at once
 * would let each queue retry once, at the end, so a message held 30 hours would bounce at 30 h
 * rather than at its role's expiry. Instead the clock goes from one due moment to the next
 * (a retry, an expiry, a delay notice of any node), each node acts at that moment against the
 * world as it then is, and the lab goes quiet before time moves on.
 */
export interface EventWorld {
  /**
   * How long until the earliest moment any node has something due, each node reckoning on its own
   * clock (so clocks of separate processes that differ by a few milliseconds cannot stall it);
   * zero or less when something is due now, undefined when nothing is pending.
   */
  dueIn(): Promise<number | undefined>;
  /** Moves every node's clock forward; nothing runs yet. */
  moveClock(ms: number): void | Promise<void>;
  /** Every queue does what is due at the present lab time. */
  kick(): void | Promise<void>;
  /** Waits until no node is delivering and nothing is due; false if that took too long. */
  settle(): Promise<boolean>;
}

export interface AdvanceResult {
  /** False when the lab did not go quiet at some moment: the advance stopped there. */
  settled: boolean;
  /** Moments the clock stopped at before the target (each with one or more due events). */
  moments: number;
}

/** A lab that keeps finding work at the present moment without ever going quiet is stuck, not busy. */
export const MAX_MOMENTS = 200_000;

/** Moves the lab clock `ms` forward, stopping at every moment something is due on the way. */
export async function advanceThroughEvents(world: EventWorld, ms: number): Promise<AdvanceResult> {
  if (!(ms >= 0)) throw new RangeError('the lab clock only moves forward');
  if (!(await world.settle())) return { settled: false, moments: 0 };
  let remaining = ms;
  let moments = 0;
  for (;;) {
    const dueIn = await world.dueIn();
    if (dueIn === undefined || dueIn > remaining) break;
    if (++moments > MAX_MOMENTS) throw new Error(`the lab clock stopped at more than ${MAX_MOMENTS} moments in one advance; a queue keeps finding work due`);
    const step = Math.max(0, Math.ceil(dueIn));
    if (step > 0) await world.moveClock(step);
    remaining -= step;
    await world.kick();
    if (!(await world.settle())) return { settled: false, moments };
  }
  if (remaining > 0) await world.moveClock(remaining);
  await world.kick();
  return { settled: await world.settle(), moments };
}
