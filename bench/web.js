#!/usr/bin/env node
'use strict';
// How fast the web API of `relaylab up` answers with thousands of messages in the lab: relays
// BENCH_MESSAGES (default 2000) onprem → eop in the hybrid topology, then times each read the
// page makes (median of five). Build first (npx tsc -b); numbers move with the machine's load.
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const { Lab, loadTopologyFile, ObservedTrace } = require('@relaylab/lab');
const { LabView } = require('../packages/cli/dist/web/lab-view');
const { WebServer } = require('../packages/cli/dist/web/server');

const total = Number(process.env.BENCH_MESSAGES || 2000);
const token = 'bench-token-0123456789abcdefghijklmnopqrstuv';

(async () => {
  const trace = new ObservedTrace();
  const topology = loadTopologyFile(resolve(__dirname, '../scenarios/topologies/hybrid.yaml'));
  const lab = await Lab.start(topology, { certsDir: mkdtempSync(join(tmpdir(), 'relaylab-bench-web-')), trace });
  const web = new WebServer(new LabView(lab, trace), token);
  await web.listen(0, '127.0.0.1');
  const started = Date.now();
  for (let i = 0; i < total; i++) {
    const raw = Buffer.from(`From: alice@contoso.example\r\nTo: carol@contoso.example\r\nSubject: bench ${i}\r\n\r\nhello\r\n`);
    lab.submit('onprem', { from: 'alice@contoso.example', to: ['carol@contoso.example'], raw });
  }
  await lab.settle(300_000);
  console.log(`${total} messages relayed in ${Date.now() - started} ms; ${trace.events.length} trace events`);
  const headers = { authorization: `Bearer ${token}` };
  const get = async (path) => {
    const times = [];
    let bytes = 0;
    for (let k = 0; k < 5; k++) {
      const t = process.hrtime.bigint();
      bytes = (await (await fetch(web.origin + path, { headers })).text()).length;
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((a, b) => a - b);
    console.log(`GET ${path}: median ${times[2].toFixed(1)} ms (${bytes} bytes)`);
  };
  const newest = (await (await fetch(`${web.origin}/api/messages?limit=1`, { headers })).json()).messages[0].messageId;
  for (const path of [
    '/api/lab',
    '/api/messages?limit=50',
    `/api/messages?offset=${Math.max(0, total - 50)}&limit=50`,
    `/api/messages/${encodeURIComponent(newest)}`,
    '/api/tracking?limit=50',
    '/api/tracking?sender=alice&offset=5000&limit=50',
    '/api/nodes/eop/mailboxes',
    '/api/nodes/onprem/queues',
  ])
    await get(path);
  await web.close();
  await lab.stop();
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
