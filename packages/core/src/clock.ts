/** The one clock: certificate validity, retries and expiry read it, so scenarios can jump ahead. */
export interface Clock {
  now(): Date;
}

export class VirtualClock implements Clock {
  private offsetMs = 0;
  constructor(private readonly base: () => number = Date.now) {}
  now(): Date {
    return new Date(this.base() + this.offsetMs);
  }
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('the lab clock only moves forward');
    this.offsetMs += ms;
  }
}

const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `5m`, `26h`, `3d`, and sums such as `20h15m` → milliseconds. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (!/^(\d+(?:\.\d+)?\s*(ms|s|m|h|d))+$/.test(t)) return undefined;
  let ms = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/g)) ms += Number(m[1]) * UNITS[m[2] as keyof typeof UNITS];
  return ms;
}
