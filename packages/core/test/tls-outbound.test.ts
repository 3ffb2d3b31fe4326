import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decideOutboundTls, type OutboundTlsPolicy, type OutboundTlsVerdict, type TlsFacts, type TlsRequirement, type TrustStore } from '@relaylab/core';
import { Pki, pemToDer, trustStoreFor, type LabCertificates } from '@relaylab/pki';

/**
 * docs/exchange.md, "TLS: what each setting demands and what failure looks like". The sender decides
 * after STARTTLS from the certificate it actually received.
 */

const DESTINATION = 'mail.contoso.example';
const TLS_DOMAIN = 'mail.contoso.example';
const HANDSHAKE_ERROR = 'Client network socket disconnected before secure TLS connection was established';

let dir: string;
let lab: LabCertificates;
let trust: TrustStore;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaylab-tls-outbound-'));
  lab = await new Pki({ dir }).forTopology({
    authorities: {
      public: { commonName: 'Relaylab Public Root CA' },
      private: { commonName: 'Contoso Private CA', trusted: false },
    },
    certificates: {
      valid: { subject: 'mail.contoso.example', issuer: 'public' },
      wrongName: { subject: 'www.tailspin.example', issuer: 'public' },
      selfSigned: { subject: 'mail.contoso.example', issuer: 'self' },
      expired: { subject: 'mail.contoso.example', issuer: 'public', validity: 'expired' },
      revoked: { subject: 'mail.contoso.example', issuer: 'public', revoked: true },
      untrusted: { subject: 'mail.contoso.example', issuer: 'private' },
      wildcard: { subject: '*.contoso.example', issuer: 'public' },
      sanOnly: { subject: 'mail.contoso.example', sans: ['autodiscover.contoso.example'], issuer: 'public' },
    },
    nodes: {},
  });
  trust = await trustStoreFor(lab);
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

type Receiver = 'no STARTTLS' | 'handshake fails' | 'valid' | 'wrong name' | 'self-signed' | 'expired' | 'revoked' | 'untrusted CA';

const CERT_OF: Partial<Record<Receiver, string>> = {
  valid: 'valid',
  'wrong name': 'wrongName',
  'self-signed': 'selfSigned',
  expired: 'expired',
  revoked: 'revoked',
  'untrusted CA': 'untrusted',
};

function secureWith(certName: string): TlsFacts {
  return {
    starttlsOffered: true,
    secure: true,
    protocol: 'TLSv1.3',
    cipher: 'TLS_AES_256_GCM_SHA384',
    peerChain: [pemToDer(lab.certificates.get(certName)!.certPem)],
    localChain: [],
  };
}

function factsFor(receiver: Receiver): TlsFacts {
  if (receiver === 'no STARTTLS') return { starttlsOffered: false, secure: false, peerChain: [], localChain: [] };
  if (receiver === 'handshake fails') return { starttlsOffered: true, secure: false, peerChain: [], localChain: [], handshakeError: HANDSHAKE_ERROR };
  return secureWith(CERT_OF[receiver]!);
}

function decide(requirement: TlsRequirement, facts: TlsFacts, extra: Partial<OutboundTlsPolicy> = {}, destination = DESTINATION): OutboundTlsVerdict {
  const policy: OutboundTlsPolicy = { requirement, settingName: 'TlsSettings', tlsDomain: TLS_DOMAIN, ...extra };
  return decideOutboundTls({ policy, destination, facts, trust, now: new Date() });
}

// The table as docs/exchange.md writes it, plus the receivers it groups under "untrusted chain / expired / revoked".
// S = send (accept), P = retry in plaintext (a deferral that tries the host again without TLS), D = defer.
const MATRIX = `
  setting                | no STARTTLS | handshake fails | valid | wrong name | self-signed | expired | revoked | untrusted CA
  Opportunistic          | S           | P               | S     | S          | S           | S       | S       | S
  EncryptionOnly         | D           | D               | S     | S          | S           | S       | S       | S
  CertificateValidation  | D           | D               | S     | S          | D           | D       | D       | D
  DomainValidation       | D           | D               | S     | D          | D           | D       | D       | D
`;

const ACTIONS = { S: 'accept', P: 'retry-plaintext', D: 'defer' } as const;

const actionOf = (v: OutboundTlsVerdict) => (v.outcome === 'defer' && v.retryPlaintext ? 'retry-plaintext' : v.outcome);

/** What the reason must say about what was observed, per receiver and outcome. */
function observed(receiver: Receiver, requirement: TlsRequirement, action: string): RegExp {
  switch (receiver) {
    case 'no STARTTLS':
      return /mail\.contoso\.example did not offer STARTTLS/;
    case 'handshake fails':
      return new RegExp(`handshake with mail\\.contoso\\.example failed.*${HANDSHAKE_ERROR}`);
    case 'valid':
      if (requirement === 'DomainValidation') return /certificate name mail\.contoso\.example matches TlsDomain mail\.contoso\.example/;
      if (requirement === 'CertificateValidation') return /chain to CN=Relaylab Public Root CA.* verified/;
      return /accepts any certificate/;
    case 'wrong name':
      return action === 'defer'
        ? /certificate names www\.tailspin\.example do not match TlsDomain mail\.contoso\.example/
        : requirement === 'CertificateValidation'
          ? /verified/
          : /accepts any certificate/;
    case 'self-signed':
      return /mail\.contoso\.example is self-signed and not trusted/;
    case 'expired':
      return /mail\.contoso\.example expired/;
    case 'revoked':
      return /mail\.contoso\.example \(serial [0-9A-F]+\) is revoked/;
    case 'untrusted CA':
      return /no trusted issuer found for .*Contoso Private CA/;
  }
}

const rows = (() => {
  const lines = MATRIX.trim()
    .split('\n')
    .map((l) => l.split('|').map((c) => c.trim()));
  const receivers = lines[0].slice(1) as Receiver[];
  return lines
    .slice(1)
    .flatMap(([setting, ...cells]) =>
      cells.map((cell, i) => ({ requirement: setting as TlsRequirement, receiver: receivers[i], action: ACTIONS[cell as keyof typeof ACTIONS] })),
    );
})();

describe('decideOutboundTls: setting × receiver → action', () => {
  test('the table covers every setting against every receiver', () => {
    expect(rows).toHaveLength(4 * 8);
  });

  test.each(rows)('$requirement, receiver $receiver → $action', ({ requirement, receiver, action }) => {
    const verdict = decide(requirement, factsFor(receiver));
    expect(actionOf(verdict)).toBe(action);

    // The reply: 450 4.4.317 when TLS could not be had, 450 4.7.320 when the certificate failed.
    if (verdict.outcome === 'defer') {
      const tlsMissing = receiver === 'no STARTTLS' || receiver === 'handshake fails';
      expect(verdict.reply.code).toBe(450);
      expect(verdict.reply.enhanced).toBe(tlsMissing ? '4.4.317' : '4.7.320');
      expect(verdict.reply.text).toBe(tlsMissing ? 'Cannot connect to remote server' : 'Certificate validation failed');
    } else {
      expect(verdict).not.toHaveProperty('reply');
    }

    // verifiedName only when DomainValidation checked the name and it matched.
    if (requirement === 'DomainValidation' && action === 'accept') expect(verdict.verifiedName).toBe('mail.contoso.example');
    else expect(verdict.verifiedName).toBeUndefined();

    // The reason names the setting and what was observed.
    if (requirement === 'Opportunistic') expect(verdict.reason).toMatch(/opportunistic/i);
    else expect(verdict.reason).toContain(`TlsSettings ${requirement}`);
    expect(verdict.reason).toMatch(observed(receiver, requirement, action));

    // Whenever a certificate was received, the verdict carries its chain check.
    if (CERT_OF[receiver]) expect(verdict.chain?.leaf.commonName).toBe(receiver === 'wrong name' ? 'www.tailspin.example' : 'mail.contoso.example');
    else expect(verdict.chain).toBeUndefined();
  });
});

describe('DomainValidation: names and wildcards', () => {
  test.each`
    tlsDomain                  | certificate   | action      | verifiedName
    ${'mail.contoso.example'}  | ${'valid'}    | ${'accept'} | ${'mail.contoso.example'}
    ${'*.contoso.example'}     | ${'valid'}    | ${'accept'} | ${'mail.contoso.example'}
    ${'MAIL.CONTOSO.EXAMPLE.'} | ${'valid'}    | ${'accept'} | ${'mail.contoso.example'}
    ${'mail.contoso.example'}  | ${'wildcard'} | ${'accept'} | ${'*.contoso.example'}
    ${'*.contoso.example'}     | ${'wildcard'} | ${'accept'} | ${'*.contoso.example'}
    ${'a.b.contoso.example'}   | ${'wildcard'} | ${'defer'}  | ${undefined}
    ${'contoso.example'}       | ${'wildcard'} | ${'defer'}  | ${undefined}
    ${'*.fabrikam.example'}    | ${'valid'}    | ${'defer'}  | ${undefined}
  `('TlsDomain $tlsDomain, certificate $certificate → $action', ({ tlsDomain, certificate, action, verifiedName }) => {
    const verdict = decide('DomainValidation', secureWith(certificate), { tlsDomain });
    expect(actionOf(verdict)).toBe(action);
    expect(verdict.verifiedName).toBe(verifiedName);
    if (verdict.outcome === 'defer') {
      expect(verdict.reply.enhanced).toBe('4.7.320');
      expect(verdict.reason).toContain(`TlsDomain ${tlsDomain}`);
    }
  });

  test('names come from the SANs; the CN counts only when there are none', () => {
    // subject CN=mail.contoso.example, SAN autodiscover.contoso.example
    const verdict = decide('DomainValidation', secureWith('sanOnly'), { tlsDomain: 'mail.contoso.example' });
    expect(actionOf(verdict)).toBe('defer');
    expect(verdict.reason).toMatch(/certificate names autodiscover\.contoso\.example do not match TlsDomain mail\.contoso\.example/);
    const bySan = decide('DomainValidation', secureWith('sanOnly'), { tlsDomain: 'autodiscover.contoso.example' });
    expect(actionOf(bySan)).toBe('accept');
    expect(bySan.verifiedName).toBe('autodiscover.contoso.example');
  });

  test('without TlsDomain the destination host name is checked, and the reason says so', () => {
    const ok = decide('DomainValidation', secureWith('valid'), { tlsDomain: undefined }, 'mail.contoso.example');
    expect(actionOf(ok)).toBe('accept');
    expect(ok.verifiedName).toBe('mail.contoso.example');
    const bad = decide('DomainValidation', secureWith('valid'), { tlsDomain: undefined }, 'smtp.contoso.example');
    expect(actionOf(bad)).toBe('defer');
    expect(bad.reason).toMatch(/do not match the destination host name \(TlsDomain not set\) smtp\.contoso\.example/);
  });

  test("a send connector without TlsDomain checks the recipient's domain, not the host it reached", () => {
    const policy: OutboundTlsPolicy = { requirement: 'DomainValidation', settingName: 'TlsAuthLevel' };
    // The wildcard certificate *.contoso.example covers the MX host but not the domain itself.
    const viaMx = decideOutboundTls({
      policy,
      destination: 'mail.contoso.example',
      recipientDomain: 'contoso.example',
      facts: secureWith('wildcard'),
      trust,
      now: new Date(),
    });
    expect(actionOf(viaMx)).toBe('defer');
    expect(viaMx.reason).toMatch(/do not match the recipient's domain \(TlsDomain not set\) contoso\.example/);
    const matching = decideOutboundTls({
      policy,
      destination: 'smtp.example',
      recipientDomain: 'mail.contoso.example',
      facts: secureWith('valid'),
      trust,
      now: new Date(),
    });
    expect(actionOf(matching)).toBe('accept');
    expect(matching.verifiedName).toBe('mail.contoso.example');
  });
});

describe('other details', () => {
  test('a send connector names its own parameter in the reason (TlsAuthLevel / RequireTLS)', () => {
    const dv = decide('DomainValidation', secureWith('wrongName'), { settingName: 'TlsAuthLevel' });
    expect(dv.reason).toContain('TlsAuthLevel DomainValidation');
    const eo = decide('EncryptionOnly', factsFor('no STARTTLS'), { settingName: 'RequireTLS' });
    expect(actionOf(eo)).toBe('defer');
    expect(eo.reason).toContain('RequireTLS EncryptionOnly requires TLS');
  });

  test.each(['CertificateValidation', 'DomainValidation'] as const)(
    '%s: an encrypted session without a server certificate is a certificate failure (450 4.7.320)',
    (requirement) => {
      const facts: TlsFacts = { starttlsOffered: true, secure: true, protocol: 'TLSv1.3', peerChain: [], localChain: [] };
      const verdict = decide(requirement, facts);
      expect(actionOf(verdict)).toBe('defer');
      if (verdict.outcome === 'defer') expect(verdict.reply).toMatchObject({ code: 450, enhanced: '4.7.320' });
      expect(verdict.reason).toMatch(/presented no certificate/);
    },
  );

  test('certificate validity is judged at the lab time passed in, not the wall clock', () => {
    const later = new Date(Date.now() + 5 * 365 * 86_400_000);
    const verdict = decideOutboundTls({
      policy: { requirement: 'CertificateValidation', settingName: 'TlsSettings' },
      destination: DESTINATION,
      facts: secureWith('valid'),
      trust,
      now: later,
    });
    expect(actionOf(verdict)).toBe('defer');
    if (verdict.outcome === 'defer') expect(verdict.reply.enhanced).toBe('4.7.320');
    expect(verdict.reason).toMatch(/mail\.contoso\.example expired/);
  });

  test('EncryptionOnly still notes what it did not check', () => {
    const verdict = decide('EncryptionOnly', secureWith('selfSigned'));
    expect(actionOf(verdict)).toBe('accept');
    expect(verdict.reason).toMatch(/certificate not checked: .*self-signed/);
    expect(verdict.chain?.valid).toBe(false);
  });
});

test('the plaintext retry after a failed handshake says so, rather than blaming IgnoreSTARTTLS', () => {
  const verdict = decideOutboundTls({
    policy: { requirement: 'Opportunistic', settingName: 'TlsSettings' },
    destination: DESTINATION,
    facts: { starttlsOffered: true, secure: false, peerChain: [], localChain: [], fallbackFrom: HANDSHAKE_ERROR },
    trust,
    now: new Date(),
  });
  expect(actionOf(verdict)).toBe('accept');
  expect(verdict.reason).toBe(`retried ${DESTINATION} in plaintext after the TLS handshake failed (${HANDSHAKE_ERROR}); opportunistic TLS allows it`);
});
