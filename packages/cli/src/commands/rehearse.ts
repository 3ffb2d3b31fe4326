import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatMs, loadPlanFile, rehearse, ScenarioFileError, type Plan, type RehearsalResult } from '@relaylab/lab';
import { renderRehearsalHtml } from '@relaylab/report';
import { guarded, InputError, parseWithEnv, UsageError, type Io } from './shared';

export const REHEARSE_HELP = `Usage: relaylab rehearse <plan.yaml> [options]

Rehearses a cutover: starts the plan's topology in this process on the virtual clock, lets the
plan's traffic flow (each message a real SMTP conversation, hop by hop), makes each change of
the timeline at its lab time (connectors and rules set, added or removed; DNS records changed,
each sender keeping what it resolved for the TTL; certificates renewed or revoked; nodes down
and up; faults), and judges each checkpoint: no message lost, and what it asks per direction
(share delivered, longest delay, AuthAs, SFV, bounced, deferred, queued). A day of cutover
runs in seconds. Prints the timeline as it goes, then the verdict per checkpoint with the
messages that broke it.

  --certs <dir>   certificate cache (default ./certs, or $RELAYLAB_CERTS)
  --json          the result as JSON, for tools (no timeline)
  --html <file>   also write an offline HTML report: per direction, mail over time by outcome
                  with the changes marked; click a bar for its messages and their hop diagrams
  -h, --help      this help

Exit codes: 0 every checkpoint held and every message is accounted for; 1 a checkpoint failed
(or a message was lost); 2 bad input (the plan file, with file:line:column of each problem).
`;

const OPTIONS = {
  certs: { type: 'string' },
  json: { type: 'boolean' },
  html: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** A few of the messages that broke a check, with their story; the rest counted. */
const SHOWN = 5;

export function formatVerdicts(result: RehearsalResult): string {
  const lines: string[] = [''];
  for (const v of result.checkpoints) {
    const i = v.interval;
    const queued = v.failures.find((f) => f.check === 'queued')?.messages.length ?? 0;
    if (v.generated) lines.push(`${v.passed ? 'PASS' : 'FAIL'}  ${v.name} (at ${formatMs(v.atMs)}: ${queued} still queued)`);
    else
      lines.push(
        `${v.passed ? 'PASS' : 'FAIL'}  ${v.name} (at ${formatMs(v.atMs)}; since ${formatMs(i.fromMs)}: ${i.messages} sent, ${i.delivered} delivered, ${i.deferred} deferred, ${i.returned} returned, ${i.queued} still queued)`,
      );
    for (const f of v.failures) {
      lines.push(`      ${f.check}: expected ${f.expected}, got ${f.actual}`);
      for (const m of f.messages.slice(0, SHOWN)) lines.push(`        ${m.messageId} sent at ${formatMs(m.submittedAtMs)}: ${m.story}`);
      if (f.messages.length > SHOWN) lines.push(`        … and ${f.messages.length - SHOWN} more`);
    }
  }
  if (result.error) lines.push(`ERROR ${result.error}`);
  const a = result.accounting;
  lines.push(
    '',
    `${a.submitted} messages: ${a.delivered} delivered, ${a.returned} returned, ${a.deleted} deleted, ${a.handedOff} handed off, ${a.queued} still queued, ${a.lost} lost`,
    `${result.passed ? 'PASS' : 'FAIL'} ${result.plan}: ${result.checkpoints.filter((c) => c.passed).length}/${result.checkpoints.length} checkpoints held (${result.seconds.toFixed(1)} s)`,
  );
  return `${lines.join('\n')}\n`;
}

export function rehearseCommand(args: string[], io: Io): Promise<number> {
  return guarded('rehearse', io, REHEARSE_HELP, async () => {
    const { values, positionals } = parseWithEnv(args, OPTIONS, true);
    if (values.help) {
      io.out.write(REHEARSE_HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('expects exactly one plan file');
    let plan: Plan;
    try {
      plan = loadPlanFile(resolve(positionals[0]!));
    } catch (e) {
      if (e instanceof ScenarioFileError) throw new InputError(`${e.issues.length} problem${e.issues.length > 1 ? 's' : ''} in the plan:\n${e.message}`);
      throw e;
    }
    if (!values.json)
      io.out.write(
        `rehearsing ${plan.name}: ${plan.directions.length} directions, ${plan.timeline.length} changes, ${plan.checkpoints.length} checkpoints over ${formatMs(plan.durationMs)}\n`,
      );
    const result = await rehearse(plan, {
      certsDir: resolve((values.certs as string | undefined) ?? process.env.RELAYLAB_CERTS ?? 'certs'),
      onLine: values.json ? undefined : (line) => io.out.write(`${line}\n`),
      keepTrace: values.html !== undefined,
    });
    if (values.html) writeFileSync(resolve(values.html as string), renderRehearsalHtml(result));
    const { trace: _trace, topology: _topology, endpoints: _endpoints, ...shown } = result;
    io.out.write(values.json ? `${JSON.stringify(shown, null, 2)}\n` : formatVerdicts(result));
    if (values.html && !values.json) io.out.write(`report: ${resolve(values.html as string)}\n`);
    return result.passed ? 0 : 1;
  });
}
