#!/usr/bin/env node
'use strict';
// Relays the same messages between two nodes over STARTTLS, once with pooled connections
// (100 messages per connection) and once with a new connection per message, in one run, and
// prints the ratio. Absolute numbers move with the machine's load; the ratio is the figure.
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { Lab } = require('@relaylab/lab');
const { Pki } = require('@relaylab/pki');

const total = Number(process.env.BENCH_MESSAGES || 200);
const topology = {
  authorities: { root: { commonName: 'Bench Root' } },
  certificates: { a: { subject: 'mx.a.example', issuer: 'root' }, b: { subject: 'mx.b.example', issuer: 'root' } },
  organizations: { a: { domains: ['a.example'] }, b: { domains: ['b.example'] } },
  nodes: {
    a: { role: 'internet', hostname: 'mx.a.example', address: '127.0.0.240', organization: 'a', certificate: 'a', mailboxes: ['s@a.example'] },
    b: { role: 'internet', hostname: 'mx.b.example', address: '127.0.0.241', organization: 'b', certificate: 'b', mailboxes: ['r@b.example'] },
  },
  dns: { mx: { 'b.example': ['mx.b.example'] } },
};

async function measure(label, maxMessagesPerConnection, pki, certsDir) {
  const lab = await Lab.start(topology, { certsDir, pki, maxMessagesPerConnection });
  const started = process.hrtime.bigint();
  for (let i = 0; i < total; i++) {
    const raw = Buffer.from(`From: s@a.example\r\nTo: r@b.example\r\nMessage-ID: <${label}-${i}@a.example>\r\nSubject: ${i}\r\n\r\n${'x'.repeat(2000)}\r\n`);
    lab.submit('a', { from: 's@a.example', to: ['r@b.example'], raw });
  }
  if (!(await lab.settle(300000))) throw new Error(`${label}: did not settle`);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const delivered = lab.node('b').mailboxes.get('r@b.example').length;
  const connections = new Set(lab.trace.events.filter((e) => e.type === 'attempt').map((e) => e.connectionId)).size;
  await lab.stop();
  if (delivered !== total) throw new Error(`${label}: delivered ${delivered} of ${total}`);
  const rate = total / seconds;
  console.log(
    `${label.padEnd(24)} ${total} messages over ${String(connections).padStart(3)} TLS connections in ${seconds.toFixed(2)} s = ${rate.toFixed(0)} msg/s`,
  );
  return rate;
}

(async () => {
  const certsDir = mkdtempSync(join(tmpdir(), 'relaylab-bench-'));
  const pki = new Pki({ dir: certsDir });
  await pki.forTopology(topology);
  const pooled = await measure('pooled (100/connection)', 100, pki, certsDir);
  const single = await measure('one connection/message', 1, pki, certsDir);
  console.log(`ratio pooled : per-message = ${(pooled / single).toFixed(1)} : 1`);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
