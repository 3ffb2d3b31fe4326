#!/usr/bin/env node
'use strict';
// Memory of `relaylab up` on the hybrid topology while mail flows through it: an SMTP client on
// Tailspin's address sends BENCH_MESSAGES (default 100000) messages of BENCH_SIZE bytes (default
// 2048) to alice@contoso.example at EOP, over pooled STARTTLS (4 connections); EOP relays each to
// on premises over forced TLS, which delivers it to the mailbox (a .eml in --out). The lab runs
// in a child process; its RSS is read from /proc and printed every BENCH_EVERY messages, then
// after the lab went idle. Memory should follow what is in flight, not what has passed.
// The lab runs as `relaylab up` does by default: the web view on (BENCH_WEB=0: --no-web) and `up`'s
// own heap bound (BENCH_UP_FLAGS, e.g. --max-heap 0, to measure another).
// BENCH_MESSAGES, BENCH_SIZE, BENCH_EVERY (default 5000), BENCH_NODE_FLAGS (flags for the lab's node).
const { spawn } = require('node:child_process');
const { mkdtempSync, readFileSync, readdirSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const nodemailer = require('nodemailer');

const total = Number(process.env.BENCH_MESSAGES || 100000);
const size = Number(process.env.BENCH_SIZE || 2048);
const every = Number(process.env.BENCH_EVERY || 5000);
const root = join(__dirname, '..');
const MB = 1024 * 1024;
// BENCH_NODE_FLAGS, e.g. --max-old-space-size=96: a heap cap the lab must live within, which tells
// memory it holds from garbage V8 has not collected yet (RSS alone counts both).
const nodeFlags = (process.env.BENCH_NODE_FLAGS || '').split(' ').filter(Boolean);

const rssOf = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

async function main() {
  const out = mkdtempSync(join(tmpdir(), 'relaylab-up-rss-'));
  const child = spawn(
    process.execPath,
    [
      ...nodeFlags,
      join(root, 'packages/cli/bin/relaylab.js'),
      'up',
      join(root, 'scenarios/topologies/hybrid.yaml'),
      ...['--out', out, '--port', '0'],
      ...(process.env.BENCH_WEB === '0' ? ['--no-web'] : ['--web-port', '0']),
      ...(process.env.BENCH_UP_FLAGS || '').split(' ').filter(Boolean),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let text = '';
  child.stdout.on('data', (d) => {
    // The table first; after it one line per hop, which this bench drops once the lab is ready.
    if (!/nodes ready/.test(text)) text += d;
  });
  while (!/nodes ready/.test(text)) {
    if (child.exitCode !== null) throw new Error(`relaylab up exited: ${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const port = Number(/^eop\s+\S+\s+\S+\s+127\.0\.0\.20:(\d+)/m.exec(text)[1]);
  const ca = readdirSync(join(root, 'certs', 'authorities'))
    .filter((f) => f.startsWith('lab-root-') && f.endsWith('.pem'))
    .map((f) => readFileSync(join(root, 'certs', 'authorities', f), 'utf8'));
  const transport = nodemailer.createTransport({
    host: '127.0.0.20',
    port,
    pool: true,
    maxConnections: 4,
    maxMessages: 100,
    localAddress: '127.0.0.50',
    name: 'mx.tailspin.example',
    tls: { ca, servername: 'contoso-example.mail.protection.outlook.example' },
  });
  const line = `${'x'.repeat(76)}\r\n`;
  const body = line.repeat(Math.max(1, Math.floor(size / line.length)));
  const baseline = rssOf(child.pid);
  console.log(`relaylab up (pid ${child.pid}), --out ${out}; RSS at start ${(baseline / MB).toFixed(0)} MB`);
  const started = Date.now();
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(child.pid))), 200);
  const window = 64;
  let sent = 0;
  const inFlight = new Set();
  for (let i = 0; i < total; i++) {
    const raw = `From: <tom@tailspin.example>\r\nTo: <alice@contoso.example>\r\nMessage-ID: <up-${i}@tailspin.example>\r\nSubject: up ${i}\r\n\r\n${body}`;
    const p = transport.sendMail({ envelope: { from: 'tom@tailspin.example', to: ['alice@contoso.example'] }, raw }).then(() => {
      inFlight.delete(p);
      sent++;
      if (sent % every === 0) {
        const s = (Date.now() - started) / 1000;
        console.log(`${String(sent).padStart(7)} sent in ${s.toFixed(0)} s (${(sent / s).toFixed(0)} msg/s): RSS ${(rssOf(child.pid) / MB).toFixed(0)} MB`);
      }
    });
    inFlight.add(p);
    if (inFlight.size >= window) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  transport.close();
  // Let the lab finish relaying what it accepted.
  const box = join(out, 'mailboxes', 'alice@contoso.example');
  const deadline = Date.now() + 600000;
  while (Date.now() < deadline && readdirSync(box).filter((f) => f.endsWith('.eml')).length < total) await new Promise((r) => setTimeout(r, 500));
  clearInterval(sampler);
  const delivered = readdirSync(box).filter((f) => f.endsWith('.eml')).length;
  const after = rssOf(child.pid);
  console.log(`${total} messages accepted, ${delivered} delivered as .eml in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(`relaylab up RSS: start ${(baseline / MB).toFixed(0)} MB, peak ${(peak / MB).toFixed(0)} MB, after ${(after / MB).toFixed(0)} MB`);
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
