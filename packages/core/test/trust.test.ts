import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkChain, type TrustStore } from '@relaylab/core';
import { Pki, pemToDer, trustStoreFor, type LabCertificates } from '@relaylab/pki';

const DAY = 86_400_000;

let dir: string;
let lab: LabCertificates;
let store: TrustStore;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaylab-trust-'));
  lab = await new Pki({ dir }).forTopology({
    authorities: {
      public: { commonName: 'Relaylab Public Root CA' },
      private: { commonName: 'Fabrikam Private CA', trusted: false },
    },
    certificates: {
      valid: { subject: 'mail.contoso.example', issuer: 'public' },
      expired: { subject: 'old.contoso.example', issuer: 'public', validity: 'expired' },
      notYetValid: { subject: 'new.contoso.example', issuer: 'public', validity: 'not-yet-valid' },
      selfSigned: { subject: 'mx.tailspin.example', issuer: 'self' },
      privateCa: { subject: 'mx.fabrikam.example', issuer: 'private' },
      revoked: { subject: 'stolen.contoso.example', issuer: 'public', revoked: true },
    },
    nodes: {},
  });
  store = await trustStoreFor(lab);
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const leafDer = (name: string): Buffer => pemToDer(lab.certificates.get(name)!.certPem);
const caDer = (name: string): Buffer => pemToDer(lab.authorities.get(name)!.certPem);

test('the default trust store holds only authorities not marked trusted: false, with their CRLs', () => {
  expect(store.anchors.map((a) => a.subject)).toEqual([expect.stringContaining('CN=Relaylab Public Root CA')]);
  expect(store.crls).toHaveLength(1);
  expect(store.crls[0].revokedSerials.length).toBe(1);
});

describe('checkChain at the lab time "now"', () => {
  test.each`
    certificate      | valid    | chainsToTrustedRoot | problem
    ${'valid'}       | ${true}  | ${true}             | ${undefined}
    ${'expired'}     | ${false} | ${true}             | ${/old\.contoso\.example expired/}
    ${'notYetValid'} | ${false} | ${true}             | ${/new\.contoso\.example is not valid before/}
    ${'selfSigned'}  | ${false} | ${false}            | ${/mx\.tailspin\.example is self-signed and not trusted/}
    ${'privateCa'}   | ${false} | ${false}            | ${/no trusted issuer found for .*Fabrikam Private CA/}
    ${'revoked'}     | ${false} | ${true}             | ${/stolen\.contoso\.example \(serial [0-9A-F]+\) is revoked/}
  `('$certificate → valid $valid, chainsToTrustedRoot $chainsToTrustedRoot, problem $problem', ({ certificate, valid, chainsToTrustedRoot, problem }) => {
    const check = checkChain([leafDer(certificate)], store, new Date());
    expect(check.valid).toBe(valid);
    expect(check.chainsToTrustedRoot).toBe(chainsToTrustedRoot);
    if (problem) {
      expect(check.problems.join('; ')).toMatch(problem);
    } else {
      expect(check.problems).toEqual([]);
    }
  });

  test('a valid CA-signed certificate reports its leaf and the path to the anchor', () => {
    const check = checkChain([leafDer('valid')], store, new Date());
    expect(check.leaf.commonName).toBe('mail.contoso.example');
    expect(check.leaf.sans).toEqual(['mail.contoso.example']);
    expect(check.path).toHaveLength(2);
    expect(check.path[0]).toContain('CN=mail.contoso.example');
    expect(check.path[1]).toContain('CN=Relaylab Public Root CA');
  });

  test('the revoked serial named in the problem is the serial of the certificate listed in the CRL', () => {
    const check = checkChain([leafDer('revoked')], store, new Date());
    expect(check.problems.join('; ')).toContain(`serial ${lab.certificates.get('revoked')!.serial}`);
    expect(check.problems.join('; ')).toMatch(/CRL of Relaylab Public Root CA/);
  });

  test('a chain sent with its untrusted root still does not chain to a trusted root; the root is named self-signed', () => {
    const check = checkChain([leafDer('privateCa'), caDer('private')], store, new Date());
    expect(check.valid).toBe(false);
    expect(check.chainsToTrustedRoot).toBe(false);
    expect(check.problems.join('; ')).toMatch(/Fabrikam Private CA is self-signed and not trusted/);
  });

  test('the private CA is trusted by a node whose store names it explicitly', async () => {
    const partnerStore = await trustStoreFor(lab, ['private']);
    const check = checkChain([leafDer('privateCa')], partnerStore, new Date());
    expect(check.valid).toBe(true);
    expect(check.chainsToTrustedRoot).toBe(true);
    // …and that store does not trust the public CA
    expect(checkChain([leafDer('valid')], partnerStore, new Date()).chainsToTrustedRoot).toBe(false);
  });

  test('a CRL only revokes what it lists: the same store accepts the other certificates of that CA', () => {
    expect(checkChain([leafDer('valid')], store, new Date()).problems.join()).not.toMatch(/revoked/);
  });

  test('without the CRL in the store, the revoked certificate passes (revocation is checked against the CRL, not guessed)', () => {
    const noCrl: TrustStore = { anchors: store.anchors, crls: [] };
    expect(checkChain([leafDer('revoked')], noCrl, new Date()).valid).toBe(true);
  });

  test('checkChain refuses an empty chain', () => {
    expect(() => checkChain([], store, new Date())).toThrow(/at least the leaf/);
  });
});

describe('lab time decides, not the wall clock', () => {
  test.each`
    certificate      | offsetDays | valid    | problem
    ${'valid'}       | ${0}       | ${true}  | ${undefined}
    ${'valid'}       | ${5 * 365} | ${false} | ${/mail\.contoso\.example expired/}
    ${'valid'}       | ${-30}     | ${false} | ${/mail\.contoso\.example is not valid before/}
    ${'notYetValid'} | ${60}      | ${true}  | ${undefined}
  `('$certificate checked at now + $offsetDays days → valid $valid', ({ certificate, offsetDays, valid, problem }) => {
    const now = new Date(Date.now() + offsetDays * DAY);
    const check = checkChain([leafDer(certificate)], store, now);
    expect(check.valid).toBe(valid);
    expect(check.chainsToTrustedRoot).toBe(true);
    if (problem) expect(check.problems.join('; ')).toMatch(problem);
    else expect(check.problems).toEqual([]);
  });

  test('an expired leaf checked back inside its window has no problem of its own; the window of the anchor is checked too', () => {
    // The leaf ran from now-400d to now-30d; the lab CA was made at now-2d.
    const check = checkChain([leafDer('expired')], store, new Date(Date.now() - 200 * DAY));
    expect(check.chainsToTrustedRoot).toBe(true);
    expect(check.problems.join('; ')).not.toMatch(/old\.contoso\.example/);
    expect(check.problems.join('; ')).toMatch(/Relaylab Public Root CA is not valid before/);
    expect(check.valid).toBe(false);
  });

  test('the problem text quotes the lab time it was judged at', () => {
    const now = new Date(Date.now() + 5 * 365 * DAY);
    const check = checkChain([leafDer('valid')], store, now);
    expect(check.problems.join('; ')).toContain(`lab time ${now.toISOString()}`);
  });
});
