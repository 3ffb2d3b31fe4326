import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { InboundConnector, RoleName } from '@relaylab/core';
import { discoverScenarioFiles, loadScenarioFile, loadScenarios, loadTopologyFile, ScenarioFileError } from '../src/loader';
import type { FileIssue } from '../src/loader';

const fixtures = path.join(__dirname, 'fixtures');
const good = (name: string): string => path.join(fixtures, 'good', name);
const bad = (name: string): string => path.join(fixtures, 'bad', name);

/** The issues of the ScenarioFileError that `load` throws; fails the test if it throws anything else. */
function issuesOf(load: () => unknown): FileIssue[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ScenarioFileError) return error.issues;
    throw error;
  }
  throw new Error('expected a ScenarioFileError, but the file loaded');
}

function issue(file: string, line: number, column: number, field: string, message: string): FileIssue {
  return { file, line, column, field, message };
}

describe('loading good files', () => {
  test('a scenario with an external topology loads, typed as the model says', () => {
    const scenario = loadScenarioFile(good('partner-tls.yaml'));

    expect(scenario.file).toBe(good('partner-tls.yaml'));
    expect(scenario.name).toBe('partner-forced-tls-inbound');
    expect(scenario.description).toMatch(/^Fabrikam sends to Contoso/);
    expect(scenario.topologyFile).toBe(good('topologies/partner-tls.yaml'));

    const role: RoleName = scenario.topology.nodes.eop.role;
    expect(role).toBe('exchange-online');
    const connector: InboundConnector | undefined = scenario.topology.nodes.eop.inboundConnectors?.[0];
    expect(connector).toEqual({
      Name: 'Inbound from Fabrikam',
      ConnectorType: 'Partner',
      SenderDomains: ['fabrikam.example'],
      TlsSenderCertificateName: 'mail.fabrikam.example',
      RequireTls: true,
      RestrictDomainsToCertificate: true,
    });
    expect(scenario.topology.certificates?.eop.sans).toEqual(['*.mail.protection.outlook.example']);
    expect(scenario.topology.dns?.mx?.['contoso.example']).toEqual(['contoso-com.mail.protection.outlook.example']);

    expect(scenario.messages).toEqual([
      {
        id: 'm1',
        from: 'alice@fabrikam.example',
        to: ['bob@contoso.example'],
        via: 'fabrikam',
        subject: 'Quarterly numbers',
        headers: { 'X-Lab-Case': 'good-cert' },
        body: 'Hello',
      },
    ]);
    expect(scenario.expect[0].hops?.[0]).toEqual({
      from: 'fabrikam',
      to: 'eop',
      tls: 'TLSv1.3',
      certificateVerified: true,
      certificateName: 'mail.contoso.example',
      inboundConnector: 'Inbound from Fabrikam',
    });
    expect(scenario.expect[0].headers).toEqual([
      { name: 'X-Lab-Case', equals: 'good-cert' },
      { name: 'X-Bogus', absent: true },
    ]);
  });

  test('an inline topology needs no file; `to` becomes a list; the name defaults to the file name', () => {
    const scenario = loadScenarioFile(good('nested/inline-topology.yaml'));

    expect(scenario.name).toBe('inline-topology');
    expect(scenario.topologyFile).toBeUndefined();
    expect(Object.keys(scenario.topology.nodes)).toEqual(['onprem', 'internet']);
    expect(scenario.topology.nodes.onprem.sendConnectors?.[0].TlsAuthLevel).toBe('DomainValidation');
    expect(scenario.topology.dns?.mx?.['contoso.example']).toEqual(['mail.contoso.example', { exchange: 'backup.contoso.example', preference: 20 }]);
    expect(scenario.messages[0].to).toEqual(['carol@contoso.example']);
    expect(scenario.messages[0].raw).toBe('From: dave@internet.example\r\nTo: carol@contoso.example\r\nSubject: raw\r\n\r\nbody\r\n');
  });

  test('a topology file loads on its own', () => {
    const topology = loadTopologyFile(good('topologies/partner-tls.yaml'));
    expect(topology.nodes.fabrikam).toEqual({ role: 'partner', hostname: 'mail.fabrikam.example', address: '127.0.0.30', certificate: 'fabrikam' });
    expect(topology.authorities?.rogue.trusted).toBe(false);
  });
});

describe('errors point at file, line, column and field', () => {
  test('bad YAML gives the line and column of the syntax error', () => {
    const file = bad('bad-yaml.yaml');
    const issues = issuesOf(() => loadScenarioFile(file));
    expect(issues[0]).toEqual(issue(file, 8, 14, '(yaml)', 'Nested mappings are not allowed in compact mappings'));
    expect(issues.every((i) => i.file === file && i.line === 8)).toBe(true);
  });

  test('the error message lists every issue as file:line:column: field: message', () => {
    const file = bad('dangling-ref.yaml');
    let thrown: unknown;
    try {
      loadScenarioFile(file);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ScenarioFileError);
    const error = thrown as ScenarioFileError;
    expect(error.file).toBe(file);
    expect(error.message.split('\n')).toHaveLength(error.issues.length);
    expect(error.message.split('\n')[0]).toBe(`${file}:6:10: messages[0].via: unknown node "fabrikm" (did you mean "fabrikam"?)`);
  });

  test('unknown fields, wrong types and enum values are all reported, with suggestions', () => {
    const file = bad('unknown-field.yaml');
    expect(issuesOf(() => loadScenarioFile(file))).toEqual([
      issue(file, 10, 11, 'topology.nodes.eop.inboundConnectors[0].RequireTLs', 'unknown field "RequireTLs" (did you mean "RequireTls"?)'),
      issue(
        file,
        13,
        24,
        'topology.nodes.eop.outboundConnectors[0].TlsSettings',
        'expected one of EncryptionOnly, CertificateValidation, DomainValidation, null; found "DomainValidaton" (did you mean "DomainValidation"?)',
      ),
      issue(file, 17, 16, 'topology.nodes.fabrikam.address', 'expected an IPv4 address in 127.0.0.0/8; found "10.0.0.30"'),
      issue(file, 18, 13, 'topology.nodes.fabrikam.port', 'expected an integer; found "2525"'),
      issue(
        file,
        25,
        27,
        'expect[0].state',
        'expected one of delivered, rejected, deferred, bounced, deleted, handedOff; found "deliverd" (did you mean "delivered"?)',
      ),
    ]);
  });

  test('dangling references and duplicate message ids are all reported', () => {
    const file = bad('dangling-ref.yaml');
    expect(issuesOf(() => loadScenarioFile(file))).toEqual([
      issue(file, 6, 10, 'messages[0].via', 'unknown node "fabrikm" (did you mean "fabrikam"?)'),
      issue(file, 7, 9, 'messages[1].id', 'message id "m1" is already used by messages[0]; ids must be unique'),
      issue(file, 14, 27, 'expect[0].path[2]', 'unknown node "mailbox-server"; expected one of eop, fabrikam'),
      issue(file, 16, 31, 'expect[0].hops[0].to', 'unknown node "exo"; expected one of eop, fabrikam'),
      issue(file, 17, 14, 'expect[1].message', 'unknown message "m2" (did you mean "m1"?)'),
    ]);
  });

  test('CR or LF in a header name, value or subject is refused (header injection)', () => {
    const file = bad('header-crlf.yaml');
    expect(issuesOf(() => loadScenarioFile(file))).toEqual([
      issue(file, 7, 14, 'messages[0].subject', 'contains a line break (CR or LF), which would inject header fields; found "Hello\\nBcc: eve@evil.example"'),
      issue(
        file,
        10,
        15,
        'messages[0].headers.X-Evil',
        'header value contains a line break (CR or LF), which would inject header fields; found "innocent\\r\\nBcc: eve@evil.example"',
      ),
      issue(
        file,
        11,
        7,
        'messages[0].headers["X Bad Name"]',
        'expected an RFC 5322 header field name (printable ASCII without spaces or colon); found "X Bad Name"',
      ),
    ]);
  });

  test('a duplicate address names both nodes; connector sets must suit the role; connector names are unique', () => {
    const file = bad('duplicate-address.yaml');
    expect(issuesOf(() => loadScenarioFile(file))).toEqual([
      issue(
        file,
        7,
        7,
        'topology.nodes.eop.receiveConnectors',
        'receiveConnectors belong to exchange-server, edge, partner, internet, appliance, device nodes (New-ReceiveConnector); ' +
          'an exchange-online node has inboundConnectors and outboundConnectors',
      ),
      issue(
        file,
        12,
        19,
        'topology.nodes.eop.outboundConnectors[0].Name',
        'connector name "From partners" is already used by inboundConnectors[0] on this node; connector names must be unique per node',
      ),
      issue(
        file,
        16,
        16,
        'topology.nodes.onprem.address',
        'nodes "eop" and "onprem" both use address 127.0.0.20; each node needs an address of its own (only exchange-online tenants share EOP\'s addresses)',
      ),
    ]);
  });

  test('errors in a referenced topology file point into the topology file', () => {
    const scenario = bad('topology-error.yaml');
    const topology = bad('topologies/broken.yaml');
    let thrown: unknown;
    try {
      loadScenarioFile(scenario);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ScenarioFileError);
    expect((thrown as ScenarioFileError).file).toBe(scenario);
    expect((thrown as ScenarioFileError).issues).toEqual([
      issue(topology, 4, 55, 'certificates.fabrikam.issuer', 'unknown authority "lab-rot" (did you mean "lab-root"?)'),
      issue(topology, 10, 23, 'nodes.eop.trust[1]', 'unknown authority "public-ca"; expected one of lab-root'),
      issue(topology, 11, 97, 'nodes.fabrikam.certificate', 'unknown certificate "fabrikm" (did you mean "fabrikam"?)'),
    ]);
  });

  test('schema errors in a topology file loaded on its own', () => {
    const file = bad('topologies/typo.yaml');
    expect(issuesOf(() => loadTopologyFile(file))).toEqual([
      issue(
        file,
        8,
        22,
        'nodes.eop.outboundConnectors[0].TlsSettings',
        'expected one of EncryptionOnly, CertificateValidation, DomainValidation, null; found "DomainValidaton" (did you mean "DomainValidation"?)',
      ),
      issue(file, 9, 9, 'nodes.eop.outboundConnectors[0].SmartHost', 'unknown field "SmartHost" (did you mean "SmartHosts"?)'),
    ]);
  });

  test("a topology file that does not exist is reported at the scenario's topology field", () => {
    const file = bad('missing-topology.yaml');
    expect(issuesOf(() => loadScenarioFile(file))).toEqual([
      issue(file, 1, 11, 'topology', `topology file not found: ${bad('topologies/does-not-exist.yaml')}`),
    ]);
  });
});

describe('the lab stays on loopback', () => {
  test('an extra A record outside 127.0.0.0/8 is refused where it is written', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaylab-loader-'));
    try {
      const file = path.join(dir, 'outside.yaml');
      fs.writeFileSync(
        file,
        [
          'nodes:',
          '  onprem: { role: exchange-server, hostname: mail.contoso.example, address: 127.0.0.10, mailboxes: [carol@contoso.example] }',
          'dns:',
          '  a:',
          '    relay.contoso.example: 127.0.0.11',
          '    evil.example: 203.0.113.5',
          '',
        ].join('\n'),
      );
      expect(issuesOf(() => loadTopologyFile(file))).toEqual([
        issue(file, 6, 19, 'dns.a["evil.example"]', 'expected an IPv4 address in 127.0.0.0/8; found "203.0.113.5"'),
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a scenario cannot make the loader show another file', () => {
  const SECRET = 'sk-SECRET-4f9a';
  let dir: string;
  const scenarioNaming = (topology: string): string => {
    const file = path.join(dir, `names-${path.basename(topology).replace(/\W/g, '_')}.yaml`);
    fs.writeFileSync(
      file,
      `topology: ${JSON.stringify(topology)}\nmessages: [{ id: m, from: a@b.example, to: c@d.example, via: x }]\nexpect: [{ message: m, state: delivered }]\n`,
    );
    return file;
  };
  const messagesOf = (file: string): string => {
    try {
      loadScenarioFile(file);
    } catch (error) {
      if (error instanceof ScenarioFileError) return error.message;
      throw error;
    }
    throw new Error('expected a ScenarioFileError, but the file loaded');
  };

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaylab-loader-'));
    fs.writeFileSync(path.join(dir, 'credentials'), `root:x:0:0:${SECRET}:/root:/bin/bash\n`);
    fs.writeFileSync(path.join(dir, 'hosts.yml'), `github.com:\n  oauth_token: ${SECRET}\n`);
    fs.writeFileSync(path.join(dir, 'list.yaml'), `- ${SECRET}\n`);
    fs.writeFileSync(path.join(dir, 'header.yaml'), `key: |2${SECRET}\n  text\n`);
    fs.writeFileSync(path.join(dir, 'base-is-secret.yaml'), 'extends: hosts.yml\nname: x\n');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a file that is not YAML is refused at the topology field, unread', () => {
    const file = scenarioNaming(path.join(dir, 'credentials'));
    expect(issuesOf(() => loadScenarioFile(file))).toEqual([
      issue(file, 1, 11, 'topology', `expected a path to a .yaml or .yml topology file; found ${JSON.stringify(path.join(dir, 'credentials'))}`),
    ]);
    expect(messagesOf(scenarioNaming('/etc/passwd'))).not.toMatch(/root:/);
  });

  test('YAML that is not a topology is named, its content never shown', () => {
    for (const name of ['hosts.yml', 'list.yaml']) {
      const file = scenarioNaming(name);
      expect(issuesOf(() => loadScenarioFile(file))).toEqual([
        issue(
          file,
          1,
          11,
          'topology',
          expect.stringMatching(
            /^.*: expected a relaylab topology \(a mapping with "nodes" or "extends" at its top level\); found a (mapping without either|list) \(its content is not shown\)$/,
          ),
        ),
      ]);
      expect(messagesOf(file)).not.toContain(SECRET);
      expect(messagesOf(file)).not.toContain('github.com');
    }
    const header = scenarioNaming('header.yaml');
    expect(messagesOf(header)).toMatch(/header\.yaml:1:\d+: \(yaml\): Block scalar header includes extra characters$/m);
    expect(messagesOf(header)).not.toContain(SECRET);
  });

  test('extends: follows the same rules, reported at the extends field', () => {
    const base = path.join(dir, 'base-is-secret.yaml');
    expect(issuesOf(() => loadTopologyFile(base))).toEqual([issue(base, 1, 10, 'extends', expect.stringContaining('hosts.yml: expected a relaylab topology'))]);
    expect(messagesOf(scenarioNaming('base-is-secret.yaml'))).not.toContain(SECRET);
  });

  test('relative paths are relative to the scenario file, not to the working folder', () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'relaylab-cwd-'));
    const cwd = process.cwd();
    try {
      fs.copyFileSync(good('topologies/partner-tls.yaml'), path.join(elsewhere, 'partner-tls.yaml'));
      process.chdir(elsewhere);
      expect(loadScenarioFile(good('partner-tls.yaml')).topologyFile).toBe(good('topologies/partner-tls.yaml'));
    } finally {
      process.chdir(cwd);
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});

describe('discovering and loading many files', () => {
  test('folders are walked recursively, skipping topologies/, _-files and hidden files', () => {
    expect(discoverScenarioFiles([path.join(fixtures, 'good')])).toEqual([good('nested/inline-topology.yaml'), good('partner-tls.yaml')]);
  });

  test('a file named explicitly is included as is; results are sorted and unique', () => {
    expect(discoverScenarioFiles([good('partner-tls.yaml'), good('_draft.yaml'), path.join(fixtures, 'good')])).toEqual([
      good('_draft.yaml'),
      good('nested/inline-topology.yaml'),
      good('partner-tls.yaml'),
    ]);
  });

  test('a path that does not exist is an error naming it', () => {
    const missing = path.join(fixtures, 'nope');
    expect(() => discoverScenarioFiles([missing])).toThrow(`scenario path not found: ${missing}`);
  });

  test('loadScenarios collects every bad file instead of stopping at the first', () => {
    const { scenarios, errors } = loadScenarios([fixtures]);
    expect(scenarios.map((s) => s.name)).toEqual(['inline-topology', 'partner-forced-tls-inbound']);
    expect(errors.map((e) => path.basename(e.file))).toEqual([
      'bad-yaml.yaml',
      'dangling-ref.yaml',
      'duplicate-address.yaml',
      'header-crlf.yaml',
      'missing-topology.yaml',
      'topology-error.yaml',
      'unknown-field.yaml',
    ]);
  });
});
