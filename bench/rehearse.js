#!/usr/bin/env node
'use strict';
// A simulated day of cutover on the virtual clock: how long it takes in real time, and that every
// message is accounted for. Four directions of the hybrid topology (Internet → cloud, Internet →
// on premises, on premises → cloud, cloud → on premises), one message each every BENCH_EVERY
// (default 5m) for BENCH_DURATION (default 24h), with on premises down for two hours in the
// morning (mail queues in Exchange Online and drains when it is back) and the hybrid certificate
// renewed at noon. Prints seconds, messages, lab-hours per real second and the accounting.
const { mkdtempSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { loadPlanFile, rehearse } = require('@relaylab/lab');

const every = process.env.BENCH_EVERY || '5m';
const duration = process.env.BENCH_DURATION || '24h';
const dir = mkdtempSync(join(tmpdir(), 'relaylab-bench-rehearse-'));
const file = join(dir, 'day.yaml');
writeFileSync(
  file,
  `topology: ${join(__dirname, '..', 'scenarios', 'topologies', 'hybrid.yaml')}
duration: ${duration}
traffic:
  internet-to-cloud: { from: tailspin, to: carol@contoso.example, every: ${every} }
  internet-to-onprem: { from: tailspin, to: alice@contoso.example, every: ${every} }
  onprem-to-cloud: { from: onprem, to: carol@contoso.example, every: ${every} }
  cloud-to-onprem: { from: eop, to: alice@contoso.example, every: ${every} }
timeline:
  - { at: 6h, down: onprem }
  - { at: 8h, up: onprem }
  - { at: 12h, certificate: { name: onprem, subject: mail.contoso.example, sans: [mail.contoso.example, mail2.contoso.example] } }
checkpoints:
  - { at: ${duration}, bounced: 0, queued: 0 }
`,
);

(async () => {
  const plan = loadPlanFile(file);
  const result = await rehearse(plan, { certsDir: join(dir, 'certs') });
  const a = result.accounting;
  const hours = plan.durationMs / 3_600_000;
  console.log(
    `${hours} lab hours, ${a.submitted} messages in ${result.seconds.toFixed(1)} s real: ${(hours / result.seconds).toFixed(2)} lab hours per second`,
  );
  console.log(`accounting: ${a.delivered} delivered, ${a.returned} returned, ${a.deleted} deleted, ${a.queued} still queued, ${a.lost} lost`);
  console.log(`verdict: ${result.passed ? 'PASS' : 'FAIL'}${result.error ? ` (${result.error})` : ''}`);
  process.exitCode = result.passed && a.lost === 0 ? 0 : 1;
})();
