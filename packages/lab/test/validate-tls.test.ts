import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadTopologyFile, ScenarioFileError, type FileIssue } from '../src/loader';

let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaylab-validate-tls-'))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function issuesOf(yaml: string): Array<Pick<FileIssue, 'line' | 'field' | 'message'>> {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, yaml);
  try {
    loadTopologyFile(file);
  } catch (error) {
    if (error instanceof ScenarioFileError) return error.issues.map(({ line, field, message }) => ({ line, field, message }));
    throw error;
  }
  return [];
}

const node = (extra: string) => `nodes:
  mx:
    role: internet
    hostname: mx.fabrikam.example
    address: 127.0.0.9
${extra}`;

test('an intermediate CA with its root, a leafOnly node and a legacy node load cleanly', () => {
  expect(
    issuesOf(`authorities:
  root: { commonName: Root }
  issuing: { commonName: Issuing, issuer: root }
certificates:
  mx: { subject: mx.fabrikam.example, issuer: issuing }
${node(`    certificate: mx
    trust: [root]
    tls: { presentChain: leafOnly, minVersion: TLSv1, maxVersion: TLSv1, ciphers: "DEFAULT@SECLEVEL=0" }`)}`),
  ).toEqual([]);
});

test('an unknown issuer, a loop, trusted on an intermediate and an intermediate as trust anchor are each reported where written', () => {
  expect(
    issuesOf(`authorities:
  root: { commonName: Root }
  issuing: { commonName: Issuing, issuer: rooot, trusted: true }
  a: { commonName: A, issuer: b }
  b: { commonName: B, issuer: a }
${node(`    trust: [root, a]`)}`),
  ).toEqual([
    { line: 3, field: 'authorities.issuing.issuer', message: 'unknown authority "rooot" (did you mean "root"?)' },
    {
      line: 3,
      field: 'authorities.issuing.trusted',
      message: '"issuing" is an intermediate (issued by "rooot"): only roots are trust anchors, so set trusted on its root instead',
    },
    { line: 4, field: 'authorities.a.issuer', message: 'authorities a → b → a issue each other in a loop; one of them must be a root (no issuer)' },
    { line: 5, field: 'authorities.b.issuer', message: 'authorities b → a → b issue each other in a loop; one of them must be a root (no issuer)' },
    { line: 11, field: 'nodes.mx.trust[1]', message: '"a" is an intermediate (issued by "b"): trust anchors are roots only; trust its root instead' },
  ]);
});

test('TLS versions that cannot work, and presentChain without a certificate, are refused with what to do', () => {
  expect(issuesOf(node(`    tls: { presentChain: full, minVersion: TLSv1.3, maxVersion: TLSv1.2 }`))).toEqual([
    { line: 6, field: 'nodes.mx.tls.presentChain', message: 'node "mx" has no certificate, so it presents no chain' },
    { line: 6, field: 'nodes.mx.tls.minVersion', message: 'minVersion TLSv1.3 is above maxVersion TLSv1.2: the node could speak no TLS version at all' },
  ]);
  expect(issuesOf(node(`    tls: { maxVersion: TLSv1.1 }`))).toEqual([
    {
      line: 6,
      field: 'nodes.mx.tls.maxVersion',
      message: 'TLSv1.1 needs ciphers: "DEFAULT@SECLEVEL=0" on this node (OpenSSL 3 refuses TLS 1.0 and 1.1 handshakes at its default security level)',
    },
  ]);
  expect(issuesOf(node(`    tls: { minVersion: TLSv1.0 }`))).toEqual([
    expect.objectContaining({ field: 'nodes.mx.tls.minVersion', message: expect.stringContaining('TLSv1') }),
  ]);
});
