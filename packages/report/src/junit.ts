import { describeTimes, formatFailure, type ScenarioResult } from '@relaylab/lab';
import type { RunReport } from './run';
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

/** JUnit XML as CI servers read it: a suite per scenario, a test case per expectation. */
export function renderJunit(run: RunReport): string {
  const suites = run.results.map((r) => ({ r, cases: casesOf(r) }));
  const count = (pick: (c: Case) => unknown) => suites.reduce((n, s) => n + s.cases.filter(pick).length, 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="relaylab" tests="${count(() => true)}" failures="${count((c) => c.failure)}" errors="${count((c) => c.error)}" time="${seconds(run.durationMs)}" timestamp="${x(run.startedAt)}">`,
  ];
  for (const { r, cases } of suites) {
    lines.push(
      `  <testsuite name="${x(r.scenario.name)}" tests="${cases.length}" failures="${cases.filter((c) => c.failure).length}" errors="${cases.filter((c) => c.error).length}" skipped="0" time="${seconds(r.durationMs)}" timestamp="${x(run.startedAt)}" file="${x(r.scenario.file)}">`,
    );
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
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}
