#!/usr/bin/env node
'use strict';
// Memory of a node while clients send messages far over MaxMessageSize: four sessions at once,
// each streaming BENCH_MB (default 250) MB of DATA without SIZE=. The node runs in a child
// process; its RSS is read from /proc every 50 ms (Linux) before, during and after the transfer.
// Each session must end with 552 5.3.4, and the node's RSS should stay flat (it keeps at most
// MaxMessageSize per session, 36 MB by default, and discards the rest).
const { spawn } = require('node:child_process');
const { mkdtempSync, readFileSync } = require('node:fs');
const { connect } = require('node:net');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const MB = 1024 * 1024;
const sizeMb = Number(process.env.BENCH_MB || 250);
const sessions = Number(process.env.BENCH_SESSIONS || 4);
const address = '127.0.0.242';
const topology = {
  organizations: { b: { domains: ['b.example'] } },
  nodes: { b: { role: 'internet', hostname: 'mx.b.example', address, organization: 'b', mailboxes: ['r@b.example'] } },
};

if (process.argv[2] === 'node') {
  const { Lab } = require('@relaylab/lab');
  Lab.start(topology, { certsDir: mkdtempSync(join(tmpdir(), 'relaylab-bench-rss-')) }).then((lab) => {
    process.stdout.write(`${JSON.stringify({ port: lab.node('b').port })}\n`);
  });
  return;
}

const rssOf = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

function send(port, from) {
  return new Promise((resolve, reject) => {
    const s = connect({ host: address, port, localAddress: from });
    let text = '';
    let greeted = false;
    let streaming = false;
    s.on('error', reject);
    s.on('data', async (d) => {
      text += d.toString('latin1');
      if (!greeted && /^220 /m.test(text)) {
        greeted = true;
        s.write('EHLO bench.example\r\nMAIL FROM:<s@a.example>\r\nRCPT TO:<r@b.example>\r\nDATA\r\n');
      }
      if (/^421 /m.test(text)) return reject(new Error(text));
      if (!streaming && /^354 /m.test(text)) {
        streaming = true;
        const line = `${'x'.repeat(1022)}\r\n`.repeat(1024); // 1 MB of 1 KB lines
        s.write('Subject: big\r\n\r\n');
        for (let i = 0; i < sizeMb; i++) if (!s.write(line)) await new Promise((r) => s.once('drain', r));
        s.write('.\r\nQUIT\r\n');
      }
      if (/^221 /m.test(text)) {
        s.end();
        resolve(text.split('\r\n').find((l) => /^(552|250 2\.6|4\d\d)/.test(l)));
      }
    });
  });
}

async function main() {
  const child = spawn(process.execPath, [__filename, 'node'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(JSON.parse(d.toString()).port)));
  await new Promise((r) => setTimeout(r, 500));
  const baseline = rssOf(child.pid);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(child.pid))), 50);
  const started = Date.now();
  const replies = await Promise.all(Array.from({ length: sessions }, (_, i) => send(port, `127.0.0.${243 + i}`)));
  clearInterval(sampler);
  const after = rssOf(child.pid);
  child.kill();
  const mb = (n) => `${(n / MB).toFixed(0)} MB`;
  console.log(`${sessions} sessions × ${sizeMb} MB of DATA in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`node RSS: before ${mb(baseline)}, peak ${mb(peak)}, after ${mb(after)}`);
  for (const r of replies) console.log(`  final reply: ${r}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
