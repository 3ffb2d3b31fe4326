import { formatFailure, type Failure, type ScenarioResult } from '@relaylab/lab';
import type { Reporter, RunReport } from './run';

export const colors = (on: boolean) => ({
  green: (s: string) => (on ? `\x1b[32m${s}\x1b[0m` : s),
  red: (s: string) => (on ? `\x1b[31m${s}\x1b[0m` : s),
  dim: (s: string) => (on ? `\x1b[2m${s}\x1b[0m` : s),
});

/** Failures of one message/recipient together, its story printed once after them. */
function groupBySubject(failures: Failure[]): Array<[Failure, ...Failure[]]> {
  const groups = new Map<string, [Failure, ...Failure[]]>();
  for (const f of failures) groups.set(f.subject, [...(groups.get(f.subject) ?? []), f]);
  return [...groups.values()];
}

/** One scenario: a PASS line, or a FAIL line followed by expected against actual and the hop trace. */
export function formatResult(r: ScenarioResult, useColor: boolean): string {
  const c = colors(useColor);
  const head = `${r.passed ? c.green('✓ PASS') : c.red('✗ FAIL')} ${r.scenario.name} ${c.dim(`(${r.checks} checks, ${r.durationMs} ms) ${r.scenario.file}`)}`;
  if (r.passed) return head;
  const lines = [head];
  if (r.error) lines.push(`  error: ${r.error}`);
  for (const u of r.unaccounted) {
    const entry = r.fates.find((f) => `${f.message} → ${f.recipient}` === u);
    lines.push(
      `  ${u}: ${entry && entry.fate.finalStates.length > 1 ? `ended in ${entry.fate.finalStates.length} final states (${entry.fate.finalStates.join(', ')})` : 'not accounted for: no final state in the trace'}`,
    );
  }
  for (const group of groupBySubject(r.failures)) {
    const [first] = group;
    lines.push(`  ${first.subject}`);
    for (const f of group) {
      const [, expected = '', actual = ''] = formatFailure({ ...f, story: [] }).split('\n');
      lines.push(`    ${f.field}:`, `    ${c.green(expected)}`, `    ${c.red(actual)}`);
    }
    lines.push(...first.story.map((l) => c.dim(`      ${l}`)));
  }
  return lines.join('\n');
}

export interface PrettyOptions {
  out: NodeJS.WritableStream;
  color: boolean;
  /** Redraw a status line while scenarios run (only on a terminal: it uses carriage returns). */
  live: boolean;
}

/**
 * Progress while scenarios run (each result as it finishes, and on a terminal a status line of
 * what is still running), so a long run never looks stuck.
 */
export class PrettyReporter implements Reporter {
  readonly name = 'pretty';
  private total = 0;
  private done = 0;
  private failed = 0;
  private statusShown = false;

  constructor(private readonly o: PrettyOptions) {}

  start(scenarios: readonly unknown[]): void {
    this.total = scenarios.length;
    this.status();
  }

  result(r: ScenarioResult): void {
    this.done++;
    if (!r.passed) this.failed++;
    this.clearStatus();
    this.o.out.write(`${formatResult(r, this.o.color)}\n`);
    this.status();
  }

  finish(_run: RunReport): string[] {
    this.clearStatus();
    return [];
  }

  private status(): void {
    if (!this.o.live || this.done >= this.total) return;
    const c = colors(this.o.color);
    this.o.out.write(c.dim(`running: ${this.done}/${this.total} done${this.failed ? `, ${this.failed} failed` : ''}…`));
    this.statusShown = true;
  }

  private clearStatus(): void {
    if (!this.statusShown) return;
    this.o.out.write('\r\x1b[K');
    this.statusShown = false;
  }
}
