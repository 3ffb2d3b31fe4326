import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkChain, type Topology } from '@relaylab/core';
import { Pki, authorityLineages, derChain, trustStoreFor, type LabCertificates } from '@relaylab/pki';

const topology: Topology = {
  authorities: {
    // Listed issued-first on purpose: the PKI must make issuers before what they issue.
    issuing: { commonName: 'Chain Test Issuing CA', issuer: 'policy' },
    policy: { commonName: 'Chain Test Policy CA', issuer: 'root' },
    root: { commonName: 'Chain Test Root CA' },
    private: { commonName: 'Chain Test Private Root', trusted: false },
    privateIssuing: { commonName: 'Chain Test Private Issuing', issuer: 'private' },
  },
  certificates: {
    mx: { subject: 'mx.fabrikam.example', issuer: 'issuing' },
    gone: { subject: 'gone.fabrikam.example', issuer: 'issuing', revoked: true },
    direct: { subject: 'direct.fabrikam.example', issuer: 'root' },
    hidden: { subject: 'hidden.fabrikam.example', issuer: 'privateIssuing' },
  },
  nodes: {},
};

let dir: string;
let lab: LabCertificates;
const now = new Date();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'relaylab-chain-'));
  lab = await new Pki({ dir }).forTopology(topology);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const subjects = (pem: string) => derChain(pem).map((der) => new X509Certificate(der).subject.replace(/\n/g, ', '));

test('an intermediate is a CA issued by its issuer, and its root is where its lineage ends', () => {
  const issuing = new X509Certificate(lab.authorities.get('issuing')!.certPem);
  const policy = new X509Certificate(lab.authorities.get('policy')!.certPem);
  expect(issuing.ca).toBe(true);
  expect(issuing.checkIssued(policy) && issuing.verify(policy.publicKey)).toBe(true);
  expect(lab.authorities.get('issuing')).toMatchObject({ issuer: 'policy', root: 'root', trusted: true });
  expect(lab.authorities.get('privateIssuing')).toMatchObject({ root: 'private', trusted: false });
});

test('the full chain is the leaf, then each intermediate up to but not including the root', () => {
  expect(subjects(lab.certificates.get('mx')!.chainPem)).toEqual([
    'CN=mx.fabrikam.example',
    'CN=Chain Test Issuing CA, O=relaylab',
    'CN=Chain Test Policy CA, O=relaylab',
  ]);
  expect(subjects(lab.certificates.get('mx')!.certPem)).toEqual(['CN=mx.fabrikam.example']);
  expect(subjects(lab.certificates.get('direct')!.chainPem)).toEqual(['CN=direct.fabrikam.example']);
});

test('trust anchors are the trusted roots only; intermediates lend their CRLs', async () => {
  const store = await trustStoreFor(lab);
  expect(store.anchors.map((a) => a.subject)).toEqual([expect.stringContaining('CN=Chain Test Root CA')]);
  // root, policy and issuing; not the private hierarchy
  expect(store.crls).toHaveLength(3);
  await expect(trustStoreFor(lab, ['issuing'])).rejects.toThrow('trust anchors are roots only: issuing is issued by policy; trust root');
});

test('the full chain verifies to the root; the leaf alone does not', async () => {
  const store = await trustStoreFor(lab);
  const full = checkChain(derChain(lab.certificates.get('mx')!.chainPem), store, now);
  expect(full).toMatchObject({ valid: true, chainsToTrustedRoot: true, problems: [] });
  expect(full.path).toHaveLength(4);

  const leafOnly = checkChain(derChain(lab.certificates.get('mx')!.certPem), store, now);
  expect(leafOnly.valid).toBe(false);
  expect(leafOnly.chainsToTrustedRoot).toBe(false);
  expect(leafOnly.problems).toEqual([expect.stringMatching(/^no trusted issuer found for CN=Chain Test Issuing CA.*did not present it/)]);

  // Missing only the middle link breaks the chain as well.
  const [leaf, issuing] = derChain(lab.certificates.get('mx')!.chainPem);
  expect(checkChain([leaf!, issuing!], store, now).valid).toBe(false);
});

test("an intermediate's CRL revokes what it issued", async () => {
  const check = checkChain(derChain(lab.certificates.get('gone')!.chainPem), await trustStoreFor(lab), now);
  expect(check.chainsToTrustedRoot).toBe(true);
  expect(check.problems).toEqual([expect.stringMatching(/gone\.fabrikam\.example .* is revoked by the CRL of Chain Test Issuing CA/)]);
});

test('a second PKI on the same folder reuses the intermediates; a new root remakes them', async () => {
  const again = new Pki({ dir });
  const b = await again.forTopology(topology);
  expect(again.generated).toEqual([]);
  expect(b.authorities.get('issuing')!.certPem).toBe(lab.authorities.get('issuing')!.certPem);

  const renamedRoot: Topology = { ...topology, authorities: { ...topology.authorities, root: { commonName: 'Chain Test Root CA 2' } } };
  const c = await new Pki({ dir }).forTopology(renamedRoot);
  expect(c.authorities.get('issuing')!.certPem).not.toBe(lab.authorities.get('issuing')!.certPem);
  expect(checkChain(derChain(c.certificates.get('mx')!.chainPem), await trustStoreFor(c), now).valid).toBe(true);
});

test('a loop of issuers is an error that names it', () => {
  expect(() => authorityLineages({ a: { commonName: 'A', issuer: 'b' }, b: { commonName: 'B', issuer: 'a' } })).toThrow(
    'authorities a → b → a issue each other in a loop',
  );
});
