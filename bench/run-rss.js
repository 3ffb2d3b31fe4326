#!/usr/bin/env node
'use strict';
// Memory of `relaylab run`, in two shapes: (a) many scenarios (BENCH_SCENARIOS copies, default 200,
// of the hybrid on-premises → cloud scenario, each its own lab), and (b) one scenario that sends
// BENCH_MESSAGES messages (default 2000) through the hybrid topology, judged with one expectation
// per message. Scenarios have no repeat syntax, so the bench writes the YAML. Each case runs
// `relaylab run` in a child process that this same file instruments (loaded with -r): it prints
// the peak RSS (getrusage maxRSS) and the peak V8 heap used (sampled every 20 ms) as it exits.
// Memory should follow the scenario being judged, not every scenario or message that has passed.
// BENCH_CASES (default "many,one"), BENCH_REPORTERS (default "pretty"; e.g. "pretty,json,junit,html",
// written to a temporary folder), BENCH_TRACE=1 (also --trace to a temporary file), BENCH_BEFORE=<dir>
// (another built checkout, e.g. a copy of an older commit: each case runs there first, then here,
// so the two are measured side by side on the same machine load).
const MB = 1024 * 1024;

if (require.main !== module) {
  // Loaded with -r into `relaylab run`: report its peaks on exit, on stderr, one JSON line.
  const v8 = require('node:v8');
  let heapPeak = 0;
  const sample = () => (heapPeak = Math.max(heapPeak, v8.getHeapStatistics().used_heap_size));
  setInterval(sample, 20).unref();
  process.on('exit', () => {
    sample();
    process.stderr.write(`\nRUN-RSS ${JSON.stringify({ rssPeak: process.resourceUsage().maxRSS * 1024, heapPeak })}\n`);
  });
  return;
}

const { spawn } = require('node:child_process');
const { mkdtempSync, writeFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const root = join(__dirname, '..');
const scenarios = Number(process.env.BENCH_SCENARIOS || 200);
// The judge indexes the trace once per scenario, so (b) grows with its messages, not their square
// (2,000 messages: about 14 s here, from about 130 s when each fate scanned the whole trace).
const messages = Number(process.env.BENCH_MESSAGES || 2000);
const cases = (process.env.BENCH_CASES || 'many,one').split(',');
const reporters = process.env.BENCH_REPORTERS || 'pretty';
const topology = join(root, 'scenarios/topologies/hybrid.yaml');

const expectDelivered = (id, to) => `  - { message: ${id}, state: delivered, mailbox: ${to}, path: [onprem, eop] }`;
const expectInternal = (id, to) =>
  `  - { message: ${id}, state: delivered, mailbox: ${to}, path: [onprem, eop], headers: [{ name: X-MS-Exchange-Organization-AuthAs, equals: Internal }] }`;

/** (a) BENCH_SCENARIOS scenarios, each one message on premises → cloud with its hop and headers judged. */
function manyScenarios(dir) {
  for (let i = 0; i < scenarios; i++) {
    const yaml = [
      `name: bench-many-${i}`,
      `topology: ${topology}`,
      'messages:',
      `  - { id: m1, from: alice@contoso.example, to: [carol@contoso.example], via: onprem, subject: Bench ${i} }`,
      'expect:',
      expectInternal('m1', 'carol@contoso.example'),
    ];
    writeFileSync(join(dir, `bench-many-${String(i).padStart(4, '0')}.yaml`), `${yaml.join('\n')}\n`);
  }
  return dir;
}

/** (b) One scenario of BENCH_MESSAGES messages on premises → cloud, each expected delivered. */
function oneScenario(dir) {
  const lines = [`name: bench-one-${messages}`, `topology: ${topology}`, 'messages:'];
  for (let i = 0; i < messages; i++)
    lines.push(`  - { id: m${i}, from: alice@contoso.example, to: [carol@contoso.example], via: onprem, subject: Bench ${i} }`);
  lines.push('expect:');
  for (let i = 0; i < messages; i++) lines.push(expectDelivered(`m${i}`, 'carol@contoso.example'));
  const file = join(dir, 'bench-one.yaml');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function run(label, target, work, checkout = root) {
  const args = ['-r', __filename, join(checkout, 'packages/cli/bin/relaylab.js'), 'run', target, '--reporter', reporters, '--output', join(work, 'report')];
  if (process.env.BENCH_TRACE === '1') args.push('--trace', join(work, 'trace.jsonl'));
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out = (out + d).slice(-4000)));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const m = /RUN-RSS (.*)/.exec(err);
      if (!m) return reject(new Error(`${label}: no figures (exit ${code})\n${err}\n${out}`));
      const { rssPeak, heapPeak } = JSON.parse(m[1]);
      const summary = /\d+ passed, \d+ failed/.exec(out)?.[0] ?? `exit ${code}`;
      console.log(
        `${label.padEnd(44)} peak RSS ${(rssPeak / MB).toFixed(0).padStart(5)} MB  peak heap ${(heapPeak / MB).toFixed(0).padStart(5)} MB  ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${summary}`,
      );
      resolve();
    });
  });
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'relaylab-run-rss-'));
  try {
    console.log(`relaylab run, reporters ${reporters}${process.env.BENCH_TRACE === '1' ? ', --trace' : ''}`);
    const before = process.env.BENCH_BEFORE;
    const both = async (label, target) => {
      if (before) await run(`${label} (before)`, target, work, before);
      await run(label, target, work);
    };
    if (cases.includes('many')) await both(`(a) ${scenarios} scenarios`, manyScenarios(mkdtempSync(join(work, 'many-'))));
    if (cases.includes('one')) await both(`(b) 1 scenario, ${messages} messages`, oneScenario(work));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
