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

/** `90s`, `5m`, `26h`, `3d` → milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}
