import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run } from './run-cli';

/** Cmdlet properties the lab accepts without simulating are said once per run, however many files carry them. */
test('relaylab run lists the properties it does not simulate once', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaylab-not-simulated-'));
  try {
    fs.mkdirSync(path.join(dir, 'topologies'));
    fs.writeFileSync(
      path.join(dir, 'topologies/partner.yaml'),
      `nodes:
  eop:
    role: exchange-online
    hostname: contoso-example.mail.protection.outlook.example
    address: 127.0.0.20
    mailboxes: [carol@contoso.example]
    inboundConnectors:
      - { Identity: Partner, Name: Partner, ConnectorType: Partner, SenderDomains: ["smtp:fabrikam.example;1"], EFTestMode: $false, ConnectorSource: Default }
  fabrikam:
    role: partner
    hostname: mail.fabrikam.example
    address: 127.0.0.30
    mailboxes: [ann@fabrikam.example]
`,
    );
    for (const name of ['a', 'b']) {
      fs.writeFileSync(
        path.join(dir, `${name}.yaml`),
        `topology: topologies/partner.yaml
messages: [{ id: m, from: ann@fabrikam.example, to: carol@contoso.example, via: fabrikam }]
expect: [{ message: m, state: delivered }]
`,
      );
    }
    const { code, err } = await run(['run', '--list', dir]);
    expect(code).toBe(0);
    expect(err).toBe('not simulated (accepted, no effect in the lab): EFTestMode, ConnectorSource\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
