import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { controlTokenFile, loadTopologyFile, NodeControlClient, readControlToken } from '@relaylab/lab';
import { Pki } from '@relaylab/pki';
import { freePortBase, repo, startRelaylab, type Running } from './process-spawn';
import { tool } from '../../mta/test/debian-tools';

// Two `relaylab node` processes and a `relaylab dns` process, configured the way compose does it:
// through the environment.
let PORT: number;
let CONTROL: number;
let DNS: string;
const dir = mkdtempSync(join(tmpdir(), 'relaylab-node-'));
const config = 'scenarios/topologies/onprem-hybrid.yaml';
let env: Record<string, string>;
let dns: Running;
let onprem: Running;
let eop: Running;

beforeAll(async () => {
  PORT = await freePortBase(['127.0.0.10', '127.0.0.20'], [0, 50], { address: '127.0.0.53', offset: 99 });
  CONTROL = PORT + 50;
  DNS = `127.0.0.53:${PORT + 99}`;
  env = { RELAYLAB_CONFIG: config, RELAYLAB_DNS: DNS, RELAYLAB_PORT: String(PORT), RELAYLAB_CONTROL_PORT: String(CONTROL), RELAYLAB_CERTS: join(dir, 'certs') };
  await new Pki({ dir: join(dir, 'certs') }).forTopology(loadTopologyFile(join(repo, config)));
  // All three at once, as compose starts them: a node asks the DNS service only when it delivers.
  dns = startRelaylab(['dns', '--listen', DNS], env);
  onprem = startRelaylab(['node'], { ...env, RELAYLAB_NODE: 'onprem', RELAYLAB_TRACE: join(dir, 'onprem.jsonl') });
  eop = startRelaylab(['node', '--node', 'eop', '--trace', '-', '--out', join(dir, 'eop-out')], env);
  await Promise.all([dns.waitFor(/DNS listening/), onprem.waitFor(/"msg":"node up"/), eop.waitFor(/"msg":"node up"/, 20_000, 'stderr')]);
}, 40_000);

/** The JSON lines trace a node writes to `file`, once it holds an event of `type` (or what it holds after 10 s). */
async function traceWith(file: string, type: string): Promise<Array<{ type: string }>> {
  const read = () =>
    existsSync(file)
      ? readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { type: string })
      : [];
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    const events = read();
    if (events.some((e) => e.type === type)) return events;
  }
  return read();
}

afterAll(async () => {
  await Promise.all([onprem, eop, dns].map((p) => p?.stop()));
});

test('each node binds its own topology address at the port from the environment, and logs JSON lines with pino', () => {
  const up = onprem
    .stdout()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .find((l) => l.msg === 'node up');
  expect(up).toMatchObject({ node: 'onprem', address: '127.0.0.10', port: PORT, dns: DNS, level: 30 });
});

test('mail sent into one node process reaches the other through the topology’s DNS, and both traces show the hop', async () => {
  await promisify(execFile)(
    tool('swaks'),
    [
      '--server',
      `127.0.0.10:${PORT}`,
      '--tls',
      '--timeout',
      '10',
      '--to',
      'carol@contoso.mail.onmicrosoft.example',
      '--from',
      'alice@contoso.example',
      '--header',
      'Subject: node-test',
    ],
    { encoding: 'utf8' },
  );
  // --trace - : eop's trace is JSON lines on stdout (its logs moved to stderr)
  await eop.waitFor(/"type":"delivered"/);
  const eopEvents = eop
    .stdout()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(eopEvents.find((e) => e.type === 'received')).toMatchObject({
    node: 'eop',
    remote: { ip: '127.0.0.10' },
    connector: 'Inbound from on-premises',
    tls: { secure: true },
  });
  expect(eopEvents.find((e) => e.type === 'delivered')).toMatchObject({ mailbox: 'carol@contoso.mail.onmicrosoft.example' });

  // onprem found eop by MX and A lookups against the DNS process: the attempt names the MX host.
  // onprem records it once eop's 250 reached it, which can be after eop delivered.
  const onpremEvents = await traceWith(join(dir, 'onprem.jsonl'), 'attempt');
  expect(onpremEvents.find((e) => e.type === 'attempt')).toMatchObject({
    destination: { host: 'contoso-example.mail.protection.outlook.example', ip: '127.0.0.20', port: PORT },
    connector: 'Outbound to Office 365',
    outcome: 'sent',
  });

  // the control API a runner uses reports the same, to a runner holding the lab's token (the nodes made it)
  const eopControl = new NodeControlClient('eop', '127.0.0.20', CONTROL, readControlToken(controlTokenFile(join(dir, 'certs'))));
  const status = await eopControl.status();
  expect(status).toEqual({ node: 'eop', idle: true, events: eopEvents.length });
  const [stored] = await eopControl.mailbox('carol@contoso.mail.onmicrosoft.example');
  expect(stored.raw.toString()).toMatch(/Subject: node-test/);
});

test('SIGTERM stops a node cleanly: exit 0, a last log line', async () => {
  expect(await onprem.stop()).toBe(0);
  expect(onprem.stdout()).toMatch(/"msg":"stopped"/);
  expect(await eop.stop()).toBe(0);
  expect(eop.stderr()).toMatch(/"msg":"stopped"/);
});

test('bad input exits 2 with the reason', async () => {
  const bad = startRelaylab(['node', '--node', 'nosuch'], env);
  expect(await bad.exited).toBe(2);
  expect(bad.stderr()).toMatch(/no node named "nosuch" in the topology \(nodes: onprem, eop, printer\)/);
});
