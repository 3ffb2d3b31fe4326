#!/usr/bin/env node
'use strict';
// What one relaylab hop costs next to a bare one, measured side by side in one run.
//
// bare:   an smtp-server sink fed by nodemailer over pooled STARTTLS (2 connections), no policy.
// 1 hop:  on premises → Exchange Online over "Outbound to Office 365" (RequireTLS, DomainValidation).
// 2 hops: Internet (Tailspin) → EOP → on premises, EOP's "Outbound to on-premises" forced TLS.
// 3 hops: the centralized topology: Internet → EOP → on premises → EOP, back over forced TLS.
// Every relaylab hop is a real SMTP conversation with STARTTLS, full Exchange processing,
// spooling (fsync before 250) and tracing. A hop's cost is (bare rate) / (rate × hops): 1.0×
// means a relaylab hop costs what a bare hop costs. Rounds alternate the runs so that the
// machine's load falls on all of them alike; the median and the spread (min–max) are printed.
//
// BENCH_MESSAGES (default 1000), BENCH_SIZE (bytes, default 2048), BENCH_ROUNDS (default 3),
// BENCH_PATHS (e.g. 2: only the two-hop path, no bare hop, for a profile).
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { SMTPServer } = require('smtp-server');
const nodemailer = require('nodemailer');
const { Lab, loadTopologyFile } = require('@relaylab/lab');
const { Pki } = require('@relaylab/pki');

const total = Number(process.env.BENCH_MESSAGES || 1000);
const size = Number(process.env.BENCH_SIZE || 2048);
const rounds = Number(process.env.BENCH_ROUNDS || 3);
const topologies = join(__dirname, '..', 'scenarios', 'topologies');

const body = (i) => {
  const line = `${'x'.repeat(76)}\r\n`;
  return `${line.repeat(Math.max(1, Math.floor(size / line.length)))}message ${i}\r\n`;
};
const message = (label, i, from, to) =>
  Buffer.from(`From: <${from}>\r\nTo: <${to}>\r\nMessage-ID: <${label}-${i}@bench.example>\r\nSubject: bench ${i}\r\n\r\n${body(i)}`);

async function bare(certificates) {
  const cert = certificates.certificates.get('eop');
  const ca = [...certificates.authorities.values()].map((a) => a.certPem);
  let received = 0;
  const server = new SMTPServer({
    key: cert.keyPem,
    cert: cert.chainPem,
    authOptional: true,
    logger: false,
    size: 36 * 1024 * 1024,
    onData(stream, _session, done) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        Buffer.concat(chunks);
        received++;
        done();
      });
    },
  });
  await new Promise((r) => server.listen(0, '127.0.0.250', r));
  const port = server.server.address().port;
  const transport = nodemailer.createTransport({
    host: '127.0.0.250',
    port,
    pool: true,
    maxConnections: 2,
    maxMessages: 100,
    requireTLS: true,
    localAddress: '127.0.0.251',
    tls: { ca, servername: 'mail.protection.outlook.example' },
  });
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: total }, (_, i) =>
      transport.sendMail({ envelope: { from: 's@bench.example', to: ['r@bench.example'] }, raw: message('bare', i, 's@bench.example', 'r@bench.example') }),
    ),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  transport.close();
  await new Promise((r) => server.close(r));
  if (received !== total) throw new Error(`bare: received ${received} of ${total}`);
  return seconds;
}

const allPaths = [
  {
    label: '1 hop',
    hops: 1,
    topology: 'hybrid.yaml',
    via: 'onprem',
    from: 'alice@contoso.example',
    to: 'carol@contoso.mail.onmicrosoft.example',
    at: 'eop',
    box: 'carol@contoso.example',
  },
  {
    label: '2 hops',
    hops: 2,
    topology: 'hybrid.yaml',
    via: 'tailspin',
    from: 'tom@tailspin.example',
    to: 'alice@contoso.example',
    at: 'onprem',
    box: 'alice@contoso.example',
  },
  {
    label: '3 hops',
    hops: 3,
    topology: 'mx-cloud-centralized.yaml',
    via: 'tailspin',
    from: 'tom@tailspin.example',
    to: 'carol@contoso.example',
    at: 'eop',
    box: 'carol@contoso.example',
  },
];
// BENCH_PATHS=2 (or 1,3) runs only those paths, without the bare hop: for profiling one of them.
const only = process.env.BENCH_PATHS?.split(',').map(Number);
const paths = only ? allPaths.filter((p) => only.includes(p.hops)) : allPaths;

async function relaylab(path, pki, certsDir, round) {
  const lab = await Lab.start(loadTopologyFile(join(topologies, path.topology)), { certsDir, pki });
  try {
    const started = process.hrtime.bigint();
    for (let i = 0; i < total; i++) lab.submit(path.via, { from: path.from, to: [path.to], raw: message(`r${round}-${path.hops}`, i, path.from, path.to) });
    if (!(await lab.settle(600000))) throw new Error(`${path.label}: did not settle`);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const delivered = lab.node(path.at).mailboxes.get(path.box).length;
    if (delivered !== total) throw new Error(`${path.label}: delivered ${delivered} of ${total} to ${path.box} at ${path.at}`);
    return seconds;
  } finally {
    await lab.stop();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (n) => `${(n / 1024 / 1024).toFixed(0)} MB`;

(async () => {
  const certsDir = mkdtempSync(join(tmpdir(), 'relaylab-bench-'));
  const pki = new Pki({ dir: certsDir });
  const certificates = await pki.forTopology(loadTopologyFile(join(topologies, 'hybrid.yaml')));
  const results = { bare: [], ...Object.fromEntries(paths.map((p) => [p.label, []])) };
  const ratios = Object.fromEntries(paths.map((p) => [p.label, []]));
  for (let round = 1; round <= rounds; round++) {
    const bareSeconds = only ? 1 : await bare(certificates);
    results.bare.push(total / bareSeconds);
    for (const path of paths) {
      const seconds = await relaylab(path, pki, certsDir, round);
      results[path.label].push(total / seconds);
      ratios[path.label].push(seconds / path.hops / bareSeconds);
    }
    console.error(
      `round ${round}: bare ${(total / bareSeconds).toFixed(0)} msg/s; ` +
        paths.map((p) => `${p.label} ${results[p.label].at(-1).toFixed(0)} msg/s (${ratios[p.label].at(-1).toFixed(2)}×/hop)`).join('; '),
    );
  }
  console.log(`${total} messages of ${size} bytes, ${rounds} rounds; cost per hop = bare rate / (rate × hops), median (min–max)`);
  console.log(`${'path'.padEnd(8)} ${'msg/s'.padStart(6)}  ${'cost per hop'.padEnd(24)}`);
  const spread = (xs, d) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
  console.log(`${'bare'.padEnd(8)} ${median(results.bare).toFixed(0).padStart(6)}  1.00×`);
  for (const p of paths) console.log(`${p.label.padEnd(8)} ${median(results[p.label]).toFixed(0).padStart(6)}  ${spread(ratios[p.label], 2)}×`);
  if (global.gc) global.gc();
  console.log(`RSS after the run: ${mb(process.memoryUsage().rss)}`);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
