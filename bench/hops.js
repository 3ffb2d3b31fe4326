#!/usr/bin/env node
'use strict';
// What one relaylab hop costs next to a bare one, measured side by side in one run.
//
// Each row, and what it counts:
// bare:         an smtp-server sink fed by nodemailer over pooled STARTTLS (2 connections, 100
//               messages each), no policy, nothing written: the yardstick.
// 1 hop in:     the bare hop's shape with relaylab as the receiver: the same nodemailer pool, bound
//               to Tailspin's address (an Internet sender), over STARTTLS to Exchange Online, which
//               classifies, runs its pipeline and traces each message and delivers it to a cloud
//               mailbox (carol@contoso.example) before its 250. Compare this row with bare.
// 1 hop submit: on premises → Exchange Online over "Outbound to Office 365" (RequireTLS,
//               DomainValidation). The messages are submitted at on premises (lab.submit, what
//               Outlook does over MAPI: no SMTP hop), so this row also pays the submission: on
//               premises' pipeline, its spool write of every message (fsync) and its removal, and
//               both ends of the SMTP hop are relaylab's. One hop plus a submission, counted as 1.
// 2 hops:       Internet (Tailspin, submitted there as above) → EOP → on premises, EOP's "Outbound
//               to on-premises" forced TLS; EOP spools each message (fsync before its 250).
// 3 hops:       the centralized topology: Internet → EOP → on premises → EOP, back over forced TLS.
// 2 hops in, 3 hops in: the same hops, the first from the bare hop's client bound to Tailspin's
//               address instead of a submission at Tailspin: the rows' hops and nothing else.
// Every relaylab hop is a real SMTP conversation with STARTTLS, full Exchange processing,
// spooling (fsync before 250) and tracing. A hop's cost is (bare rate) / (rate × hops): 1.0×
// means a relaylab hop costs what a bare hop costs. Rounds alternate the runs so that the
// machine's load falls on all of them alike; the median and the spread (min–max) are printed.
//
// BENCH_MESSAGES (default 1000), BENCH_SIZE (bytes, default 2048), BENCH_ROUNDS (default 3),
// BENCH_PATHS (e.g. 2: only the two-hop path, no bare hop, for a profile; 1 runs both 1-hop rows).
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

// Wall time, and the CPU time of the whole process (every thread: the spool's fsyncs too), which
// the machine's other load moves less than the wall time.
const clockStart = () => ({ at: process.hrtime.bigint(), cpu: process.cpuUsage() });
const clockStop = (started) => {
  const cpu = process.cpuUsage(started.cpu);
  return { seconds: Number(process.hrtime.bigint() - started.at) / 1e9, cpuMs: (cpu.user + cpu.system) / 1000 };
};

/** The one client both the bare hop and "1 hop in" use: nodemailer's pool, 2 connections over STARTTLS. */
const pooledTransport = ({ host, port, localAddress, ca }) =>
  nodemailer.createTransport({
    host,
    port,
    pool: true,
    maxConnections: 2,
    maxMessages: 100,
    requireTLS: true,
    localAddress,
    tls: { ca, servername: 'mail.protection.outlook.example' },
  });

const sendAll = (transport, label, from, to) =>
  Promise.all(Array.from({ length: total }, (_, i) => transport.sendMail({ envelope: { from, to: [to] }, raw: message(label, i, from, to) })));

async function bare(certificates) {
  const cert = certificates.certificates.get('eop');
  const ca = [...certificates.authorities.values()].map((a) => a.certPem);
  let received = 0;
  const server = new SMTPServer({
    key: cert.keyPem,
    cert: cert.chainPem,
    authOptional: true,
    // As relaylab's listener: no reverse DNS of the client (a query per connection to the host's resolver).
    disableReverseLookup: true,
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
  const transport = pooledTransport({ host: '127.0.0.250', port, localAddress: '127.0.0.251', ca });
  const started = clockStart();
  await sendAll(transport, 'bare', 's@bench.example', 'r@bench.example');
  const measured = clockStop(started);
  transport.close();
  await new Promise((r) => server.close(r));
  if (received !== total) throw new Error(`bare: received ${received} of ${total}`);
  return measured;
}

const allPaths = [
  {
    label: '1 hop in',
    hops: 1,
    topology: 'hybrid.yaml',
    smtpFrom: 'tailspin',
    via: 'eop',
    from: 'tom@tailspin.example',
    to: 'carol@contoso.example',
    at: 'eop',
    box: 'carol@contoso.example',
  },
  {
    label: '1 hop submit',
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
    label: '2 hops in',
    hops: 2,
    topology: 'hybrid.yaml',
    smtpFrom: 'tailspin',
    via: 'eop',
    from: 'tom@tailspin.example',
    to: 'alice@contoso.example',
    at: 'onprem',
    box: 'alice@contoso.example',
  },
  {
    label: '3 hops in',
    hops: 3,
    topology: 'mx-cloud-centralized.yaml',
    smtpFrom: 'tailspin',
    via: 'eop',
    from: 'tom@tailspin.example',
    to: 'carol@contoso.example',
    at: 'eop',
    box: 'carol@contoso.example',
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
// BENCH_PATHS=2 (or 1,3, or a row's label: "1 hop in") runs only those paths, without the bare hop: for profiling one of them.
const only = process.env.BENCH_PATHS?.split(',');
const paths = only ? allPaths.filter((p) => only.includes(String(p.hops)) || only.includes(p.label)) : allPaths;

async function relaylab(path, pki, certsDir, round, certificates) {
  const topology = loadTopologyFile(join(topologies, path.topology));
  const lab = await Lab.start(topology, { certsDir, pki });
  try {
    const label = `r${round}-${path.label.replace(/ /g, '-')}`;
    let transport;
    const started = clockStart();
    if (path.smtpFrom) {
      // An outside client: it is no lab node, only bound to the sender's address, like the bare hop's client.
      const ca = [...certificates.authorities.values()].map((a) => a.certPem);
      transport = pooledTransport({
        host: topology.nodes[path.via].address,
        port: lab.node(path.via).port,
        localAddress: topology.nodes[path.smtpFrom].address,
        ca,
      });
      await sendAll(transport, label, path.from, path.to);
    } else {
      for (let i = 0; i < total; i++) lab.submit(path.via, { from: path.from, to: [path.to], raw: message(label, i, path.from, path.to) });
    }
    if (!(await lab.settle(600000))) throw new Error(`${path.label}: did not settle`);
    const measured = clockStop(started);
    transport?.close();
    const delivered = lab.node(path.at).mailboxes.get(path.box).length;
    if (delivered !== total) throw new Error(`${path.label}: delivered ${delivered} of ${total} to ${path.box} at ${path.at}`);
    return measured;
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
  // CPU milliseconds per message per hop, and that next to the bare hop's.
  const cpu = { bare: [], ...Object.fromEntries(paths.map((p) => [p.label, []])) };
  const cpuRatios = Object.fromEntries(paths.map((p) => [p.label, []]));
  for (let round = 1; round <= rounds; round++) {
    const base = only ? { seconds: 1, cpuMs: total } : await bare(certificates);
    results.bare.push(total / base.seconds);
    cpu.bare.push(base.cpuMs / total);
    for (const path of paths) {
      const { seconds, cpuMs } = await relaylab(path, pki, certsDir, round, certificates);
      results[path.label].push(total / seconds);
      ratios[path.label].push(seconds / path.hops / base.seconds);
      cpu[path.label].push(cpuMs / total / path.hops);
      cpuRatios[path.label].push(cpuMs / path.hops / base.cpuMs);
    }
    console.error(
      `round ${round}: bare ${(total / base.seconds).toFixed(0)} msg/s; ` +
        paths.map((p) => `${p.label} ${results[p.label].at(-1).toFixed(0)} msg/s (${ratios[p.label].at(-1).toFixed(2)}×/hop)`).join('; '),
    );
  }
  console.log(
    `${total} messages of ${size} bytes, ${rounds} rounds; cost per hop = bare rate / (rate × hops), median (min–max); ` +
      `CPU = the process's CPU time per message and hop, and that over the bare hop's`,
  );
  const w = Math.max(...paths.map((p) => p.label.length));
  console.log(`${'path'.padEnd(w)} ${'msg/s'.padStart(6)}  ${'cost per hop'.padEnd(24)} ${'CPU ms'.padStart(6)}  CPU per hop`);
  const spread = (xs, d) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
  console.log(`${'bare'.padEnd(w)} ${median(results.bare).toFixed(0).padStart(6)}  ${'1.00×'.padEnd(24)} ${median(cpu.bare).toFixed(2).padStart(6)}  1.00×`);
  for (const p of paths)
    console.log(
      `${p.label.padEnd(w)} ${median(results[p.label]).toFixed(0).padStart(6)}  ${`${spread(ratios[p.label], 2)}×`.padEnd(24)} ` +
        `${median(cpu[p.label]).toFixed(2).padStart(6)}  ${spread(cpuRatios[p.label], 2)}×`,
    );
  if (global.gc) global.gc();
  console.log(`RSS after the run: ${mb(process.memoryUsage().rss)}`);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
