/** `86_405_000` → `+24h00m05s`: a lab time as an offset from the message's submission. */
export function formatLabOffset(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  const s = Math.round(Math.abs(ms) / 1000);
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  return `${sign}${h}h${String(m).padStart(2, '0')}m${String(sec).padStart(2, '0')}s`;
}

/** Lab time of an event as the reports show it: its offset from the submission, the lab clock, and the real time. */
export function describeTimes(submittedAt: string | undefined, at: string | undefined, realAt: string | undefined): string | undefined {
  if (!at) return undefined;
  const offset = submittedAt ? `${formatLabOffset(Date.parse(at) - Date.parse(submittedAt))} after submission, ` : '';
  return `${offset}lab time ${at}${realAt ? `, real time ${realAt}` : ''}`;
}
