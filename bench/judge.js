#!/usr/bin/env node
'use strict';
// judge() alone, on a synthetic trace: one scenario of BENCH_MESSAGES messages (default
// "2000,10000,100000", comma-separated) each submitted on premises, sent to Exchange Online,
// received and delivered, with one expectation per message. No lab runs: this isolates the
// judging that `npm run bench:run` (b) includes, to show it grows with the messages, not their
// square. BENCH_BEFORE=<dir> (another built checkout) judges there first, side by side; cap its
// sizes, as a quadratic judge takes minutes at 100,000. Needs the packages built (npx tsc -b).
const { join } = require('node:path');

const sizes = (process.env.BENCH_MESSAGES || '2000,10000,100000').split(',').map(Number);
const at = '2026-11-25T00:00:00.000Z';
const tls = { starttlsOffered: true, secure: true, protocol: 'TLSv1.3' };
const rcpt = 'carol@contoso.example';

function scenarioOf(n) {
  const events = [];
  const ids = new Map();
  for (let i = 0; i < n; i++) {
    const messageId = `<m${i}@bench.relaylab.test>`;
    ids.set(`m${i}`, messageId);
    const local = { ip: '127.0.0.10', port: 10000 + (i % 50000) };
    const common = { at, messageId };
    events.push({ ...common, type: 'submitted', node: 'onprem', from: 'alice@contoso.example', to: [rcpt], headersIn: [] });
    events.push({
      ...common,
      type: 'attempt',
      node: 'onprem',
      recipients: [rcpt],
      accepted: [rcpt],
      connector: 'Outbound to Office 365',
      connectorKind: 'send',
      destination: { host: 'contoso-example.mail.protection.outlook.example', ip: '127.0.0.20', port: 25 },
      local,
      connectionId: 'c1',
      reusedConnection: i,
      tls,
      tlsRequirement: 'required',
      tlsDecision: 'TLS required and negotiated',
      outcome: 'sent',
      replies: ['250 2.6.0 Queued mail for delivery'],
    });
    events.push({
      ...common,
      type: 'received',
      node: 'eop',
      sessionId: `s${i}`,
      from: 'alice@contoso.example',
      to: [rcpt],
      local: { ip: '127.0.0.20', port: 25 },
      remote: local,
      ehlo: 'mail.contoso.example',
      tls,
      reason: 'certificate',
      replies: [],
      headersIn: [],
    });
    events.push({ ...common, type: 'delivered', node: 'eop', recipient: rcpt, mailbox: rcpt, folder: 'Inbox' });
  }
  const scenario = {
    file: 'bench.yaml',
    name: `bench-judge-${n}`,
    topology: { nodes: {} },
    messages: [...ids.keys()].map((id) => ({ id, from: 'alice@contoso.example', to: [rcpt], via: 'onprem' })),
    expect: [...ids.keys()].map((message) => ({ message, state: 'delivered', mailbox: rcpt, path: ['onprem', 'eop'] })),
  };
  return { scenario, ids, events };
}

const nodeAt = (ip) => (ip === '127.0.0.20' ? 'eop' : undefined);

function time(label, checkout, n) {
  const { judge } = require(join(checkout, 'packages/lab/dist/index.js'));
  const { scenario, ids, events } = scenarioOf(n);
  const started = process.hrtime.bigint();
  const judged = judge(scenario, ids, events, nodeAt, () => undefined);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const passed = judged.expectations.filter((e) => e.passed).length;
  console.log(`${label.padEnd(32)} ${ms.toFixed(0).padStart(8)} ms  ${passed} of ${judged.expectations.length} expectations passed`);
}

for (const n of sizes) {
  if (process.env.BENCH_BEFORE) time(`${n} messages (before)`, process.env.BENCH_BEFORE, n);
  time(`${n} messages`, join(__dirname, '..'), n);
}
