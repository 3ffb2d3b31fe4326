import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { receiveLimits, ROLE_PRESETS } from '@relaylab/core';
import { loadTopologyFile, ScenarioFileError } from '@relaylab/lab';

/** Receive connector limits as a topology writes them: Exchange's names, shapes and ranges. */
const dir = mkdtempSync(join(tmpdir(), 'relaylab-limits-topology-'));
function topologyFile(connector: string): string {
  const file = join(dir, `t${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    [
      'nodes:',
      '  ex:',
      '    role: exchange-server',
      '    hostname: mail.c.example',
      '    address: 127.0.0.219',
      '    receiveConnectors:',
      `      - ${connector}`,
      '',
    ].join('\n'),
  );
  return file;
}
function problems(connector: string): string[] {
  try {
    loadTopologyFile(topologyFile(connector));
  } catch (err) {
    if (err instanceof ScenarioFileError) return err.issues.map((i) => `${i.field}: ${i.message}`);
    throw err;
  }
  return [];
}

test("a connector that says nothing has Exchange's defaults; Edge has its shorter timeouts", () => {
  expect(receiveLimits(ROLE_PRESETS['exchange-server'].receiveLimits, { Name: 'Default Frontend' })).toEqual({
    maxMessageBytes: 37_748_736,
    maxRecipientsPerMessage: 200,
    maxInboundConnection: 5000,
    maxInboundConnectionPerSource: 20,
    connectionTimeoutMs: 600_000,
    connectionInactivityTimeoutMs: 300_000,
  });
  expect(receiveLimits(ROLE_PRESETS.edge.receiveLimits, { Name: 'Default internal receive connector' })).toMatchObject({
    connectionTimeoutMs: 300_000,
    connectionInactivityTimeoutMs: 60_000,
  });
});

test('values as Get-ReceiveConnector exports them load and resolve', () => {
  const t = loadTopologyFile(
    topologyFile(
      '{ Name: Limited, MaxMessageSize: "36 MB (37,748,736 bytes)", MaxRecipientsPerMessage: 5, MaxInboundConnection: Unlimited, MaxInboundConnectionPerSource: 3, ConnectionTimeout: "1.00:00:00", ConnectionInactivityTimeout: "00:00:30" }',
    ),
  );
  expect(receiveLimits(ROLE_PRESETS['exchange-server'].receiveLimits, t.nodes.ex.receiveConnectors![0])).toEqual({
    maxMessageBytes: 37_748_736,
    maxRecipientsPerMessage: 5,
    maxInboundConnection: Infinity,
    maxInboundConnectionPerSource: 3,
    connectionTimeoutMs: 86_400_000,
    connectionInactivityTimeoutMs: 30_000,
  });
  expect(receiveLimits(ROLE_PRESETS['exchange-server'].receiveLimits, { Name: 'x', MaxMessageSize: '64KB' }).maxMessageBytes).toBe(65_536);
});

test('values New-ReceiveConnector would refuse are reported at their field', () => {
  expect(problems('{ Name: A, MaxRecipientsPerMessage: 0 }').join('\n')).toMatch(/receiveConnectors\[0\]\.MaxRecipientsPerMessage/);
  expect(problems('{ Name: A, ConnectionTimeout: 5m }').join('\n')).toMatch(/receiveConnectors\[0\]\.ConnectionTimeout/);
  expect(problems('{ Name: A, MaxMessageSize: 1 KB }')).toEqual([
    'nodes.ex.receiveConnectors[0].MaxMessageSize: MaxMessageSize 1024 bytes must be from 65536 bytes (64 KB) to 2147483647 bytes',
  ]);
  expect(problems('{ Name: A, MaxMessageSize: 100 }')).toEqual([
    'nodes.ex.receiveConnectors[0].MaxMessageSize: MaxMessageSize 100 bytes must be from 65536 bytes (64 KB) to 2147483647 bytes',
  ]);
  expect(problems('{ Name: A, ConnectionInactivityTimeout: "00:61:00" }')).toEqual([
    'nodes.ex.receiveConnectors[0].ConnectionInactivityTimeout: ConnectionInactivityTimeout "00:61:00" must be a time span from 00:00:01 to 1.00:00:00 ([d.]hh:mm:ss)',
  ]);
  expect(problems('{ Name: A, ConnectionInactivityTimeout: "00:20:00" }')).toEqual([
    "nodes.ex.receiveConnectors[0].ConnectionInactivityTimeout: ConnectionInactivityTimeout (1200 s) must be less than ConnectionTimeout (600 s), which this connector leaves at its role's default",
  ]);
  expect(problems('{ Name: A, ConnectionTimeout: "00:00:10", ConnectionInactivityTimeout: "00:00:05" }')).toEqual([]);
});
