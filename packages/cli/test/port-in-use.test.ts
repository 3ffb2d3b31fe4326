import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePortBase, startRelaylab } from './process-spawn';

// Another program already holds a port the lab wants: a real socket bound first, then the command.
const config = 'scenarios/topologies/onprem-hybrid.yaml';
const dir = mkdtempSync(join(tmpdir(), 'relaylab-port-in-use-'));
let PORT: number;
let holder: Server;

beforeAll(async () => {
  PORT = await freePortBase(['127.0.0.10', '127.0.0.20'], [0, 1, 2]);
  holder = createServer();
  await new Promise<void>((r) => holder.listen(PORT, '127.0.0.10', r));
});

afterAll(() => new Promise<void>((r) => holder.close(() => r())));

async function refused(args: string[]) {
  const p = startRelaylab(args, { RELAYLAB_CERTS: join(dir, 'certs') });
  return { code: await p.exited, lines: p.stderr().split('\n').filter(Boolean) };
}

test('relaylab up: one line naming the node, its address and --port; exit 2', async () => {
  expect(await refused(['up', config, '--port', String(PORT), '--out', join(dir, 'up')])).toEqual({
    code: 2,
    lines: [`relaylab up: node onprem cannot listen on 127.0.0.10:${PORT}: another program holds that port; stop it, or choose another with --port <n>`],
  });
});

test('relaylab up --dns on a taken port: one line naming the DNS service and --dns', async () => {
  expect(await refused(['up', config, '--port', String(PORT + 1), '--dns', `127.0.0.10:${PORT}`, '--out', join(dir, 'up-dns')])).toEqual({
    code: 2,
    lines: [
      `relaylab up: the DNS service cannot listen on 127.0.0.10:${PORT}: another program holds that port; stop it, or choose another with --dns <ip:port>`,
    ],
  });
});

test('relaylab node: one line for its SMTP port (--port) and for its control API (--control-port)', async () => {
  const node = (port: number, control: number) =>
    refused(['node', '--config', config, '--node', 'onprem', '--port', String(port), '--control-port', String(control)]);
  expect(await node(PORT, PORT + 2)).toEqual({
    code: 2,
    lines: [`relaylab node: node onprem cannot listen on 127.0.0.10:${PORT}: another program holds that port; stop it, or choose another with --port <n>`],
  });
  expect(await node(PORT + 2, PORT)).toEqual({
    code: 2,
    lines: [
      `relaylab node: node onprem's control API cannot listen on 127.0.0.10:${PORT}: another program holds that port; stop it, or choose another with --control-port <n>`,
    ],
  });
});
