import { describeTimes, formatFailure, type ScenarioResult } from '@relaylab/lab';
import type { RunReport } from './run';
import { renderWhole, type StreamedFormat } from './streamed';
import { escapeXml as x } from './xml';

const seconds = (ms: number) => (ms / 1000).toFixed(3);

interface Case {
  name: string;
  /** When the recipient reached its state: lab time (from submission) and real time. */
  time?: string;
  failure?: { message: string; text: string };
  error?: { message: string; text: string };
}

/** Cases of one scenario: one per expectation × recipient, plus what failed outside expectations. */
function casesOf(r: ScenarioResult): Case[] {
  const cases: Case[] = r.expectations.map((e) => ({
    name: e.name,
    time: timeOf(r, e.message, e.recipient),
    failure: e.passed
      ? undefined
      : {
          message: e.failures.map((f) => `${f.field}: expected ${show(f.expected)}, actual ${show(f.actual)}`).join('; '),
          text: e.failures.map((f) => formatFailure({ ...f, story: [] })).join('\n') + `\n\n${e.failures[0]?.story.join('\n') ?? ''}`,
        },
  }));
  if (r.error) cases.push({ name: 'the scenario ran to the end', error: { message: r.error, text: r.error } });
  cases.push({
    name: 'every message ended in exactly one accounted state',
    failure: r.unaccounted.length ? { message: `not accounted for: ${r.unaccounted.join(', ')}`, text: r.unaccounted.join('\n') } : undefined,
  });
  return cases;
}

function timeOf(r: ScenarioResult, message: string, recipient: string): string | undefined {
  const fate = r.fates.find((f) => f.message === message && f.recipient.toLowerCase() === recipient.toLowerCase())?.fate;
  const times = fate && describeTimes(fate.submittedAt, fate.at, fate.realAt);
  return times && `${fate.state}: ${times}`;
}

const show = (v: unknown) => (v === undefined ? '(nothing)' : typeof v === 'string' ? v : JSON.stringify(v));

export interface SuiteTally {
  tests: number;
  failures: number;
  errors: number;
}

/** A suite's lines, and its counts for the `<testsuites>` line above all suites. */
function suiteOf(r: ScenarioResult, startedAt: string): { lines: string[]; tally: SuiteTally } {
  const cases = casesOf(r);
  const tally = { tests: cases.length, failures: cases.filter((c) => c.failure).length, errors: cases.filter((c) => c.error).length };
  const lines = [
    `  <testsuite name="${x(r.scenario.name)}" tests="${tally.tests}" failures="${tally.failures}" errors="${tally.errors}" skipped="0" time="${seconds(r.durationMs)}" timestamp="${x(startedAt)}" file="${x(r.scenario.file)}">`,
  ];
  if (r.scenario.description) lines.push(`    <properties><property name="description" value="${x(r.scenario.description)}"/></properties>`);
  for (const c of cases) {
    const open = `    <testcase classname="relaylab.${x(r.scenario.name)}" name="${x(c.name)}" file="${x(r.scenario.file)}" time="0">`;
    if (!c.failure && !c.error && !c.time) {
      lines.push(open.replace(/>$/, '/>'));
      continue;
    }
    lines.push(open);
    if (c.failure) lines.push(`      <failure type="expectation" message="${x(c.failure.message)}">${x(c.failure.text)}</failure>`);
    if (c.error) lines.push(`      <error type="error" message="${x(c.error.message)}">${x(c.error.text)}</error>`);
    if (c.time) lines.push(`      <system-out>${x(c.time)}</system-out>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>');
  return { lines, tally };
}

/** JUnit XML as CI servers read it: a suite per scenario, a test case per expectation. */
export const JUNIT_FORMAT: StreamedFormat<SuiteTally> = {
  part(r, startedAt) {
    const { lines, tally } = suiteOf(r, startedAt);
    return { text: lines.join('\n'), tally };
  },
  frame(run, suites) {
    const count = (pick: (t: SuiteTally) => number) => suites.reduce((n, t) => n + pick(t), 0);
    const head = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      `<testsuites name="relaylab" tests="${count((t) => t.tests)}" failures="${count((t) => t.failures)}" errors="${count((t) => t.errors)}" time="${seconds(run.durationMs)}" timestamp="${x(run.startedAt)}">`,
    ].join('\n');
    return { head: `${head}\n`, separator: '\n', tail: `${suites.length ? '\n' : ''}</testsuites>\n` };
  },
};

export function renderJunit(run: RunReport): string {
  return renderWhole(JUNIT_FORMAT, run);
}
