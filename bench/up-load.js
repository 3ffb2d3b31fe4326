#!/usr/bin/env node
'use strict';
// Throughput of a RUNNING lab: `relaylab up` on the hybrid topology (--out a fresh folder, so every
// delivered message becomes a .eml there and the queue lives on disk), then `relaylab load --web`
// against it, BENCH_MESSAGES (default 2000) messages from onprem to a cloud mailbox over SMTP, as
// a client outside the lab sends them. Prints msg/s as `relaylab load` measured it.
//
// Arguments: built relaylab trees to compare (folders holding packages/cli/bin/relaylab.js; default
// this checkout). With more than one, they run in turns, BENCH_ROUNDS (default 2) rounds, so that
// a shared, noisy machine weighs on each alike; the figures are then printed side by side.
// BENCH_MESSAGES, BENCH_ROUNDS, BENCH_CONCURRENCY (default 50), BENCH_SIZE (default 2048), BENCH_PORT
// (every node's port, default 27125).
const { spawn, execFileSync } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const messages = Number(process.env.BENCH_MESSAGES || 2000);
const rounds = Number(process.env.BENCH_ROUNDS || 2);
const concurrency = Number(process.env.BENCH_CONCURRENCY || 50);
const size = Number(process.env.BENCH_SIZE || 2048);
const root = join(__dirname, '..');
const trees = process.argv.length > 2 ? process.argv.slice(2).map((t) => resolve(t)) : [root];
const certs = join(root, 'certs');

async function once(tree) {
  const cli = join(tree, 'packages/cli/bin/relaylab.js');
  const out = mkdtempSync(join(tmpdir(), 'relaylab-up-load-'));
  const up = spawn(
    process.execPath,
    [cli, 'up', join(root, 'scenarios/topologies/hybrid.yaml'), '--out', out, '--port', process.env.BENCH_PORT || '27125', '--web-port', '0', '--certs', certs],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let text = '';
  up.stdout.on('data', (d) => {
    if (!/nodes ready/.test(text)) text += d;
  });
  try {
    while (!/nodes ready/.test(text)) {
      if (up.exitCode !== null) throw new Error(`relaylab up exited: ${text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const web = /^web: http:\/\/([\d.]+:\d+)/m.exec(text)[1];
    const args = ['load', '--web', web, '--from', 'onprem', '--to', 'carol@contoso.mail.onmicrosoft.example'];
    const json = execFileSync(
      process.execPath,
      [cli, ...args, '--messages', String(messages), '--concurrency', String(concurrency), '--size', String(size), '--certs', certs, '--json'],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    const s = JSON.parse(json);
    return s.throughput;
  } finally {
    up.kill('SIGTERM');
    await new Promise((r) => (up.exitCode !== null ? r() : up.once('exit', r)));
    rmSync(out, { recursive: true, force: true });
  }
}

async function main() {
  const figures = trees.map(() => []);
  for (let round = 1; round <= rounds; round++) {
    for (const [i, tree] of trees.entries()) {
      const rate = await once(tree);
      figures[i].push(rate);
      console.log(`round ${round} ${tree}: ${rate.toFixed(0)} msg/s`);
    }
  }
  console.log(`\n${messages} messages onprem → carol@contoso.mail.onmicrosoft.example through a running relaylab up, ${concurrency} in flight`);
  const first = figures[0].reduce((a, b) => a + b, 0) / rounds;
  for (const [i, tree] of trees.entries()) {
    const mean = figures[i].reduce((a, b) => a + b, 0) / rounds;
    const ratio = i === 0 ? '' : `  (${(mean / first).toFixed(2)}× the first)`;
    console.log(`  ${tree}: mean ${mean.toFixed(0)} msg/s over ${rounds} round(s) [${figures[i].map((f) => f.toFixed(0)).join(', ')}]${ratio}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
