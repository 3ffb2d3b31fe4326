import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkChain, type Topology } from '@relaylab/core';
import { Pki, pemToDer, trustStoreFor } from '@relaylab/pki';

const topology: Topology = {
  authorities: { root: { commonName: 'Cache Test Root' }, private: { commonName: 'Cache Test Private', trusted: false } },
  certificates: {
    good: { subject: 'mail.contoso.example', sans: ['mail.contoso.example', 'autodiscover.contoso.example'], issuer: 'root' },
    old: { subject: 'old.contoso.example', issuer: 'root', validity: 'expired' },
    early: { subject: 'early.contoso.example', issuer: 'root', validity: 'not-yet-valid' },
    mine: { subject: 'self.contoso.example', issuer: 'self' },
    gone: { subject: 'gone.contoso.example', issuer: 'root', revoked: true },
    hidden: { subject: 'hidden.contoso.example', issuer: 'private' },
  },
  nodes: {},
};

test('a second PKI on the same folder reuses every file and makes nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-pki-'));
  const first = new Pki({ dir });
  const a = await first.forTopology(topology);
  expect(first.generated.length).toBeGreaterThan(0);
  const files = readdirSync(join(dir, 'leaves')).sort();

  const second = new Pki({ dir });
  const b = await second.forTopology(topology);
  expect(second.generated).toEqual([]);
  expect(second.reused.length).toBe(first.generated.length);
  expect(readdirSync(join(dir, 'leaves')).sort()).toEqual(files);
  expect(b.certificates.get('good')!.certPem).toBe(a.certificates.get('good')!.certPem);
  expect(b.authorities.get('root')!.crlPem).toBe(a.authorities.get('root')!.crlPem);
});

test('certificates mean what their spec says, and the CRL revokes the revoked one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-pki-'));
  const lab = await new Pki({ dir }).forTopology(topology);
  const store = await trustStoreFor(lab);
  const now = new Date();
  const check = (name: string) => checkChain([pemToDer(lab.certificates.get(name)!.certPem)], store, now);

  const good = new X509Certificate(lab.certificates.get('good')!.certPem);
  expect(good.subjectAltName).toBe('DNS:mail.contoso.example, DNS:autodiscover.contoso.example');
  expect(check('good').valid).toBe(true);
  expect(check('old').problems.join()).toMatch(/expired/);
  expect(check('early').problems.join()).toMatch(/not valid before/);
  expect(check('mine').problems.join()).toMatch(/self-signed/);
  expect(check('gone').problems.join()).toMatch(/revoked by the CRL of Cache Test Root/);
  expect(check('hidden').chainsToTrustedRoot).toBe(false);
  expect(store.anchors.map((a) => a.subject)).toEqual([expect.stringContaining('Cache Test Root')]);
});

test('changing a certificate spec makes a new certificate', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'relaylab-pki-'));
  const a = await new Pki({ dir }).forTopology(topology);
  const changed: Topology = { ...topology, certificates: { ...topology.certificates, good: { subject: 'mail2.contoso.example', issuer: 'root' } } };
  const pki = new Pki({ dir });
  const b = await pki.forTopology(changed);
  expect(b.certificates.get('good')!.certPem).not.toBe(a.certificates.get('good')!.certPem);
  expect(pki.generated.some((f) => f.includes('good-'))).toBe(true);
  expect(b.certificates.get('old')!.certPem).toBe(a.certificates.get('old')!.certPem);
});
