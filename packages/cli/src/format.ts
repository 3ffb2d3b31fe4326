import { formatFailure, type Failure, type ScenarioResult } from '@relaylab/lab';

const color = (on: boolean) => ({
  green: (s: string) => (on ? `\x1b[32m${s}\x1b[0m` : s),
  red: (s: string) => (on ? `\x1b[31m${s}\x1b[0m` : s),
  dim: (s: string) => (on ? `\x1b[2m${s}\x1b[0m` : s),
});

/** Failures of one message/recipient together, its story printed once after them. */
function groupBySubject(failures: Failure[]): Failure[][] {
  const groups = new Map<string, Failure[]>();
  for (const f of failures) groups.set(f.subject, [...(groups.get(f.subject) ?? []), f]);
  return [...groups.values()];
}

export function formatResult(r: ScenarioResult, useColor: boolean): string {
  const c = color(useColor);
  const head = `${r.passed ? c.green('✓ PASS') : c.red('✗ FAIL')} ${r.scenario.name} ${c.dim(`(${r.checks} checks, ${r.durationMs} ms) ${r.scenario.file}`)}`;
  if (r.passed) return head;
  const lines = [head];
  if (r.error) lines.push(`  error: ${r.error}`);
  for (const u of r.unaccounted) {
    const entry = r.fates.find((f) => `${f.message} → ${f.recipient}` === u);
    lines.push(`  ${u}: ${entry && entry.fate.deliveries > 1 ? `delivered ${entry.fate.deliveries} times` : 'not accounted for: no final state in the trace'}`);
  }
  for (const group of groupBySubject(r.failures)) {
    lines.push(`  ${group[0].subject}`);
    for (const f of group) lines.push(formatFailure({ ...f, story: [] }).split('\n').slice(1).map((l, i) => (i === 0 ? `    ${f.field}:\n    ${l}` : `    ${l}`)).join('\n'));
    lines.push(...group[0].story.map((l) => c.dim(`      ${l}`)));
  }
  return lines.join('\n');
}

export function summaryLine(results: ScenarioResult[]): string {
  const passed = results.filter((r) => r.passed).length;
  return `${passed} passed, ${results.length - passed} failed`;
}
