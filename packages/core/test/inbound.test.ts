import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  checkChain,
  decideReceiveConnector,
  matchInboundConnector,
  selectReceiveConnector,
  type InboundConnector,
  type InboundDecision,
  type ReceiveConnector,
  type SessionFacts,
  type TrustStore,
} from '@relaylab/core';
import { Pki, pemToDer, trustStoreFor, type LabCertificates } from '@relaylab/pki';

/** docs/exchange.md, "Inbound" and "Connectors and their parameters". */

const EOP_IP = '127.0.0.20';
const FABRIKAM_IP = '127.0.0.30';
const ONPREM_IP = '127.0.0.10';
const OTHER_IP = '127.0.0.99';

let dir: string;
let lab: LabCertificates;
let trust: TrustStore;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaylab-inbound-'));
  lab = await new Pki({ dir }).forTopology({
    authorities: { public: { commonName: 'Relaylab Public Root CA' } },
    certificates: {
      fabrikam: { subject: 'mail.fabrikam.example', issuer: 'public' },
      other: { subject: 'mx.tailspin.example', issuer: 'public' },
      fabrikamSelfSigned: { subject: 'mail.fabrikam.example', issuer: 'self' },
      fabrikamSubjectOnly: { subject: 'mail.fabrikam.example', sans: ['smtp.fabrikam.example'], issuer: 'public' },
      fabrikamExpired: { subject: 'mail.fabrikam.example', issuer: 'public', validity: 'expired' },
      onprem: { subject: 'mail.contoso.example', issuer: 'public' },
      onpremSelfSigned: { subject: 'mail.contoso.example', issuer: 'self' },
    },
    nodes: {},
  });
  trust = await trustStoreFor(lab);
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

type Session = 'plaintext' | 'TLS, no client certificate' | `TLS, certificate ${string}`;

function session(kind: Session, clientIp: string): SessionFacts {
  const base = { clientIp, localIp: EOP_IP, localPort: 25, ehlo: 'mail.fabrikam.example' };
  if (kind === 'plaintext') return { ...base, secure: false };
  if (kind === 'TLS, no client certificate') return { ...base, secure: true };
  const certName = kind.slice('TLS, certificate '.length);
  const der = pemToDer(lab.certificates.get(certName)!.certPem);
  return { ...base, secure: true, clientCertificate: checkChain([der], trust, new Date()) };
}

const FABRIKAM: InboundConnector = {
  Name: 'Inbound from Fabrikam',
  ConnectorType: 'Partner',
  SenderDomains: ['fabrikam.example'],
  TlsSenderCertificateName: 'mail.fabrikam.example',
  RequireTls: true,
};

const CONNECTORS: Record<string, InboundConnector> = {
  cert: FABRIKAM,
  'cert + RestrictDomainsToCertificate': { ...FABRIKAM, RestrictDomainsToCertificate: true },
  'cert, no RequireTls': { ...FABRIKAM, RequireTls: false },
  'cert + Restrict, no RequireTls': { ...FABRIKAM, RequireTls: false, RestrictDomainsToCertificate: true },
  IP: { Name: 'Inbound from Fabrikam', ConnectorType: 'Partner', SenderDomains: ['fabrikam.example'], SenderIPAddresses: [`${FABRIKAM_IP}/32`] },
  'IP + RestrictDomainsToIPAddresses': {
    Name: 'Inbound from Fabrikam',
    ConnectorType: 'Partner',
    SenderDomains: ['fabrikam.example'],
    SenderIPAddresses: [`${FABRIKAM_IP}/32`],
    RestrictDomainsToIPAddresses: true,
  },
  'domain only': { Name: 'Inbound from Fabrikam', ConnectorType: 'Partner', SenderDomains: ['fabrikam.example'] },
  'disabled cert + Restrict': { ...FABRIKAM, RestrictDomainsToCertificate: true, Enabled: false },
};

const ANONYMOUS = undefined;

describe('Exchange Online Partner inbound connector', () => {
  // outcome: accept <connector> | anonymous | refuse <code> <enhanced>
  test.each`
    connector                                | session                                  | ip                         | senderDomain          | connectorName              | action      | code   | enhanced    | reason
    ${'cert'}                                | ${'TLS, certificate fabrikam'}           | ${FABRIKAM_IP}             | ${'fabrikam.example'} | ${'Inbound from Fabrikam'} | ${'accept'} | ${0}   | ${''}       | ${/matched by certificate mail\.fabrikam\.example/}
    ${'cert + RestrictDomainsToCertificate'} | ${'TLS, certificate fabrikam'}           | ${OTHER_IP}                | ${'fabrikam.example'} | ${'Inbound from Fabrikam'} | ${'accept'} | ${0}   | ${''}       | ${/matched by certificate mail\.fabrikam\.example/}
    ${'cert + RestrictDomainsToCertificate'} | ${'TLS, certificate other'}              | ${FABRIKAM_IP}             | ${'fabrikam.example'} | ${'Inbound from Fabrikam'} | ${'refuse'} | ${550} | ${'5.7.51'} | ${/RestrictDomainsToCertificate.*mx\.tailspin\.example.*TlsSenderCertificateName: mail\.fabrikam\.example/}
    ${'cert'}                                | ${'TLS, certificate other'}              | ${FABRIKAM_IP}             | ${'fabrikam.example'} | ${ANONYMOUS}               | ${'accept'} | ${0}   | ${''}       | ${/no inbound connector matched .*mx\.tailspin\.example.*anonymous/}
    ${'cert'}                                | ${'plaintext'}                           | ${FABRIKAM_IP}             | ${'fabrikam.example'} | ${'Inbound from Fabrikam'} | ${'refuse'} | ${451} | ${'5.7.3'}  | ${/RequireTls for fabrikam\.example; the session is not encrypted/}
    ${'cert + RestrictDomainsToCertificate'} | ${'plaintext'}                           | ${FABRIKAM_IP}             | ${'fabrikam.example'} | ${'Inbound from Fabrikam'} | ${'refuse'} | ${451} | ${'5.7.3'}  | ${/RequireTls/}
    ${'cert'}                                | ${'TLS, certificate fabrikamSelfSigned'} | ${FABRIKAM_IP}             | ${'fabrikam.example'} | ${ANONYMOUS}               | ${'accept'} | ${0}   | ${''}       | ${/no inbound connector matched .*mail\.fabrikam\.example \(not trusted: .*self-signed/}
    ${'cert + RestrictDomainsToCertificate'} | ${'TLS, certificate fabrikamSelfSigned'} | ${FABRIKAM_IP}             | ${'fabrikam.example'} | ${'Inbound from Fabrikam'} | ${'refuse'} | ${550} | ${'5.7.51'} | ${/certificate presented: mail\.fabrikam\.example \(not trusted: .*self-signed/}
    ${'cert + RestrictDomainsToCertificate'} | ${'TLS, certificate fabrikamExpired'}    | ${FABRIKAM_IP}             | ${'fabrikam.example'} | ${'Inbound from Fabrikam'} | ${'refuse'} | ${550} | ${'5.7.51'} | ${/not trusted: .*expired/}
    ${'cert + RestrictDomainsToCertificate'} | ${'TLS, no client certificate'}          | ${FABRIKAM_IP}             | ${'fabrikam.example'} | ${'Inbound from Fabrikam'} | ${'refuse'} | ${550} | ${'5.7.51'} | ${/certificate presented: no client certificate; TlsSenderCertificateName: mail\.fabrikam\.example/}
    ${'cert + Restrict, no RequireTls'}      | ${'plaintext'}                           | ${FABRIKAM_IP}             | ${'fabrikam.example'} | ${'Inbound from Fabrikam'} | ${'refuse'} | ${550} | ${'5.7.51'} | ${/certificate presented: no TLS/}
    ${'cert, no RequireTls'}                 | ${'plaintext'}                           | ${FABRIKAM_IP}             | ${'fabrikam.example'} | ${ANONYMOUS}               | ${'accept'} | ${0}   | ${''}       | ${/anonymous/}
    ${'cert + RestrictDomainsToCertificate'} | ${'TLS, certificate other'}              | ${OTHER_IP}                | ${'tailspin.example'} | ${ANONYMOUS}               | ${'accept'} | ${0}   | ${''}       | ${/anonymous/}
    ${'cert + RestrictDomainsToCertificate'} | ${'plaintext'}                           | ${OTHER_IP}                | ${'tailspin.example'} | ${ANONYMOUS}               | ${'accept'} | ${0}   | ${''}       | ${/anonymous/}
    ${'IP'}                                  | ${'plaintext'}                           | ${FABRIKAM_IP}             | ${'fabrikam.example'} | ${'Inbound from Fabrikam'} | ${'accept'} | ${0}   | ${''}       | ${/matched by IP 127\.0\.0\.30/}
    ${'IP'}                                  | ${'plaintext'}                           | ${OTHER_IP}                | ${'fabrikam.example'} | ${ANONYMOUS}               | ${'accept'} | ${0}   | ${''}       | ${/anonymous/}
    ${'IP + RestrictDomainsToIPAddresses'}   | ${'plaintext'}                           | ${`::ffff:${FABRIKAM_IP}`} | ${'fabrikam.example'} | ${'Inbound from Fabrikam'} | ${'accept'} | ${0}   | ${''}       | ${/matched by IP 127\.0\.0\.30/}
    ${'IP + RestrictDomainsToIPAddresses'}   | ${'plaintext'}                           | ${OTHER_IP}                | ${'fabrikam.example'} | ${'Inbound from Fabrikam'} | ${'refuse'} | ${550} | ${'5.7.51'} | ${/RestrictDomainsToIPAddresses.*connecting IP 127\.0\.0\.99 is not in SenderIPAddresses 127\.0\.0\.30\/32/}
    ${'IP + RestrictDomainsToIPAddresses'}   | ${'plaintext'}                           | ${OTHER_IP}                | ${'tailspin.example'} | ${ANONYMOUS}               | ${'accept'} | ${0}   | ${''}       | ${/anonymous/}
    ${'domain only'}                         | ${'plaintext'}                           | ${OTHER_IP}                | ${'FABRIKAM.example'} | ${'Inbound from Fabrikam'} | ${'accept'} | ${0}   | ${''}       | ${/matched by sender domain/}
    ${'disabled cert + Restrict'}            | ${'TLS, certificate other'}              | ${FABRIKAM_IP}             | ${'fabrikam.example'} | ${ANONYMOUS}               | ${'accept'} | ${0}   | ${''}       | ${/anonymous/}
  `(
    'Partner [$connector], $session from $ip, MAIL FROM @$senderDomain → $action $connectorName $code $enhanced',
    ({ connector, session: kind, ip, senderDomain, connectorName, action, code, enhanced, reason }) => {
      const decision: InboundDecision = matchInboundConnector([CONNECTORS[connector]], session(kind, ip), senderDomain);
      expect(decision.connector).toBe(connectorName);
      if (connectorName) expect(decision.connectorType).toBe('Partner');
      expect(decision.verdict.outcome).toBe(action);
      if (decision.verdict.outcome === 'refuse') {
        expect(decision.verdict.reply.code).toBe(code);
        expect(decision.verdict.reply.enhanced).toBe(enhanced);
      }
      expect(decision.verdict.reason).toMatch(reason);
    },
  );

  test('the 5.7.51 refusal carries the TenantInboundAttribution text', () => {
    const decision = matchInboundConnector(
      [CONNECTORS['cert + RestrictDomainsToCertificate']],
      session('TLS, certificate other', FABRIKAM_IP),
      'fabrikam.example',
    );
    expect(decision.verdict.outcome).toBe('refuse');
    if (decision.verdict.outcome === 'refuse') {
      expect(decision.verdict.reply.text).toMatch(/^TenantInboundAttribution; There is a partner connector configured that matched/);
    }
  });

  test('the 451 5.7.3 refusal says STARTTLS is required', () => {
    const decision = matchInboundConnector([FABRIKAM], session('plaintext', FABRIKAM_IP), 'fabrikam.example');
    expect(decision.verdict.outcome).toBe('refuse');
    if (decision.verdict.outcome === 'refuse') expect(decision.verdict.reply.text).toBe('STARTTLS is required to send mail');
  });

  test('TlsSenderCertificateName is compared with the subject as well as the SANs', () => {
    const decision = matchInboundConnector(
      [{ ...FABRIKAM, RestrictDomainsToCertificate: true }],
      session('TLS, certificate fabrikamSubjectOnly', FABRIKAM_IP),
      'fabrikam.example',
    );
    expect(decision.verdict.outcome).toBe('accept');
    expect(decision.matchedBy).toBe('certificate mail.fabrikam.example');
  });

  test('TlsSenderCertificateName may be a wildcard', () => {
    const wildcard: InboundConnector = { ...FABRIKAM, TlsSenderCertificateName: '*.fabrikam.example', RestrictDomainsToCertificate: true };
    const decision = matchInboundConnector([wildcard], session('TLS, certificate fabrikam', FABRIKAM_IP), 'fabrikam.example');
    expect(decision.verdict.outcome).toBe('accept');
    expect(decision.connector).toBe('Inbound from Fabrikam');
    expect(decision.matchedBy).toBe('certificate mail.fabrikam.example');
  });
});

describe('Exchange Online OnPremises inbound connector (the hybrid "Inbound from <guid>")', () => {
  const BY_CERT: InboundConnector = {
    Name: 'Inbound from 6f2a',
    ConnectorType: 'OnPremises',
    TlsSenderCertificateName: 'mail.contoso.example',
    CloudServicesMailEnabled: true,
  };
  const BY_IP: InboundConnector = { Name: 'Inbound from on-premises by IP', ConnectorType: 'OnPremises', SenderIPAddresses: ['127.0.0.8-127.0.0.15'] };

  test.each`
    variant                                            | connector                                                        | session                                | ip                       | senderDomain          | connectorName                       | matchedBy                             | action      | enhanced
    ${'TlsSenderCertificateName mail.contoso.example'} | ${BY_CERT}                                                       | ${'TLS, certificate onprem'}           | ${ONPREM_IP}             | ${'contoso.example'}  | ${'Inbound from 6f2a'}              | ${'certificate mail.contoso.example'} | ${'accept'} | ${''}
    ${'TlsSenderCertificateName mail.contoso.example'} | ${BY_CERT}                                                       | ${'TLS, certificate onprem'}           | ${OTHER_IP}              | ${'tailspin.example'} | ${'Inbound from 6f2a'}              | ${'certificate mail.contoso.example'} | ${'accept'} | ${''}
    ${'TlsSenderCertificateName *.contoso.example'}    | ${{ ...BY_CERT, TlsSenderCertificateName: '*.contoso.example' }} | ${'TLS, certificate onprem'}           | ${ONPREM_IP}             | ${'contoso.example'}  | ${'Inbound from 6f2a'}              | ${'certificate mail.contoso.example'} | ${'accept'} | ${''}
    ${'TlsSenderCertificateName mail.contoso.example'} | ${BY_CERT}                                                       | ${'TLS, certificate onpremSelfSigned'} | ${ONPREM_IP}             | ${'contoso.example'}  | ${ANONYMOUS}                        | ${undefined}                          | ${'accept'} | ${''}
    ${'TlsSenderCertificateName mail.contoso.example'} | ${BY_CERT}                                                       | ${'TLS, certificate fabrikam'}         | ${ONPREM_IP}             | ${'contoso.example'}  | ${ANONYMOUS}                        | ${undefined}                          | ${'accept'} | ${''}
    ${'TlsSenderCertificateName mail.contoso.example'} | ${BY_CERT}                                                       | ${'plaintext'}                         | ${ONPREM_IP}             | ${'contoso.example'}  | ${ANONYMOUS}                        | ${undefined}                          | ${'accept'} | ${''}
    ${'SenderIPAddresses 127.0.0.8-127.0.0.15'}        | ${BY_IP}                                                         | ${'plaintext'}                         | ${ONPREM_IP}             | ${'contoso.example'}  | ${'Inbound from on-premises by IP'} | ${'IP 127.0.0.10'}                    | ${'accept'} | ${''}
    ${'SenderIPAddresses 127.0.0.8-127.0.0.15'}        | ${BY_IP}                                                         | ${'plaintext'}                         | ${`::ffff:${ONPREM_IP}`} | ${'contoso.example'}  | ${'Inbound from on-premises by IP'} | ${'IP 127.0.0.10'}                    | ${'accept'} | ${''}
    ${'SenderIPAddresses 127.0.0.8-127.0.0.15'}        | ${BY_IP}                                                         | ${'plaintext'}                         | ${OTHER_IP}              | ${'contoso.example'}  | ${ANONYMOUS}                        | ${undefined}                          | ${'accept'} | ${''}
    ${'SenderIPAddresses + RequireTls'}                | ${{ ...BY_IP, RequireTls: true }}                                | ${'plaintext'}                         | ${ONPREM_IP}             | ${'contoso.example'}  | ${'Inbound from on-premises by IP'} | ${'IP 127.0.0.10'}                    | ${'refuse'} | ${'5.7.3'}
    ${'TlsSenderCertificateName, Enabled:$false'}      | ${{ ...BY_CERT, Enabled: false }}                                | ${'TLS, certificate onprem'}           | ${ONPREM_IP}             | ${'contoso.example'}  | ${ANONYMOUS}                        | ${undefined}                          | ${'accept'} | ${''}
  `(
    'OnPremises [$variant], $session from $ip → $action $connectorName',
    ({ connector, session: kind, ip, senderDomain, connectorName, matchedBy, action, enhanced }) => {
      const decision = matchInboundConnector([connector], session(kind, ip), senderDomain);
      expect(decision.connector).toBe(connectorName);
      expect(decision.matchedBy).toBe(matchedBy);
      if (connectorName) expect(decision.connectorType).toBe('OnPremises');
      expect(decision.verdict.outcome).toBe(action);
      if (decision.verdict.outcome === 'refuse') expect(decision.verdict.reply).toMatchObject({ code: 451, enhanced });
      else if (connectorName) expect(decision.verdict.reason).toMatch(`OnPremises connector ${connectorName} matched by ${matchedBy}`);
      else expect(decision.verdict.reason).toMatch(/treated as anonymous Internet mail/);
    },
  );

  test('with both kinds configured, the on-premises certificate picks the OnPremises connector and Fabrikam still gets its Partner connector', () => {
    const connectors = [BY_CERT, { ...FABRIKAM, RestrictDomainsToCertificate: true }];
    const onprem = matchInboundConnector(connectors, session('TLS, certificate onprem', ONPREM_IP), 'contoso.example');
    expect(onprem).toMatchObject({ connector: 'Inbound from 6f2a', connectorType: 'OnPremises' });
    const partner = matchInboundConnector(connectors, session('TLS, certificate fabrikam', FABRIKAM_IP), 'fabrikam.example');
    expect(partner).toMatchObject({ connector: 'Inbound from Fabrikam', connectorType: 'Partner' });
    const spoof = matchInboundConnector(connectors, session('TLS, certificate other', OTHER_IP), 'fabrikam.example');
    expect(spoof.verdict.outcome).toBe('refuse');
  });
});

describe('on-premises receive connectors', () => {
  const RECEIVE: ReceiveConnector[] = [
    { Name: 'Default Frontend MAIL', Bindings: ['0.0.0.0:25'], RemoteIPRanges: ['0.0.0.0-255.255.255.255'] },
    { Name: 'Appliance subnet', Bindings: ['0.0.0.0:25'], RemoteIPRanges: ['127.0.0.0/24'] },
    { Name: 'Printer relay', Bindings: ['0.0.0.0:25'], RemoteIPRanges: ['127.0.0.40-127.0.0.49', '127.0.0.51'] },
    { Name: 'Partner secure', Bindings: ['127.0.0.21:25'], RemoteIPRanges: ['127.0.0.0/8'], RequireTLS: true },
    { Name: 'Submission 2525', Bindings: ['0.0.0.0:2525'], RemoteIPRanges: ['0.0.0.0-255.255.255.255'] },
    { Name: 'Retired', Enabled: false, Bindings: ['0.0.0.0:25'], RemoteIPRanges: ['127.0.0.33'] },
  ];

  test.each`
    clientIp               | localIp                | localPort | listenPort | selected
    ${'127.0.1.9'}         | ${'127.0.0.20'}        | ${25}     | ${25}      | ${'Default Frontend MAIL'}
    ${'127.0.0.33'}        | ${'127.0.0.20'}        | ${25}     | ${25}      | ${'Appliance subnet'}
    ${'127.0.0.45'}        | ${'127.0.0.20'}        | ${25}     | ${25}      | ${'Printer relay'}
    ${'127.0.0.51'}        | ${'127.0.0.20'}        | ${25}     | ${25}      | ${'Printer relay'}
    ${'::ffff:127.0.0.51'} | ${'::ffff:127.0.0.20'} | ${25}     | ${25}      | ${'Printer relay'}
    ${'127.0.1.9'}         | ${'127.0.0.21'}        | ${25}     | ${25}      | ${'Partner secure'}
    ${'127.0.0.33'}        | ${'127.0.0.21'}        | ${25}     | ${25}      | ${'Appliance subnet'}
    ${'192.0.2.1'}         | ${'127.0.0.21'}        | ${25}     | ${25}      | ${'Default Frontend MAIL'}
    ${'127.0.1.9'}         | ${'127.0.0.20'}        | ${2526}   | ${2526}    | ${'Default Frontend MAIL'}
    ${'127.0.1.9'}         | ${'127.0.0.20'}        | ${2525}   | ${25}      | ${'Submission 2525'}
    ${'127.0.1.9'}         | ${'127.0.0.20'}        | ${587}    | ${25}      | ${undefined}
  `('client $clientIp → $localIp:$localPort (node listens on $listenPort) → $selected', ({ clientIp, localIp, localPort, listenPort, selected }) => {
    expect(selectReceiveConnector(RECEIVE, { clientIp, localIp, localPort }, listenPort)?.Name).toBe(selected);
  });

  test('with no RemoteIPRanges match at all, no connector is selected', () => {
    const only: ReceiveConnector[] = [{ Name: 'Relay', Bindings: ['0.0.0.0:25'], RemoteIPRanges: ['10.0.0.0/8'] }];
    expect(selectReceiveConnector(only, { clientIp: '127.0.0.5', localIp: '127.0.0.20', localPort: 25 }, 25)).toBeUndefined();
  });

  test('a connector without Bindings or RemoteIPRanges takes everything on the node port', () => {
    const bare: ReceiveConnector[] = [{ Name: 'Bare' }];
    expect(selectReceiveConnector(bare, { clientIp: '203.0.113.7', localIp: '127.0.0.20', localPort: 2600 }, 2600)?.Name).toBe('Bare');
  });

  const facts = (secure: boolean, clientIp = '127.0.1.9'): SessionFacts => ({
    clientIp,
    localIp: '127.0.0.21',
    localPort: 25,
    ehlo: 'mx.fabrikam.example',
    secure,
  });

  test.each`
    connector                  | secure   | action      | code   | enhanced   | reason
    ${'Partner secure'}        | ${false} | ${'refuse'} | ${451} | ${'5.7.3'} | ${/receive connector Partner secure has RequireTLS; the session is not encrypted/}
    ${'Partner secure'}        | ${true}  | ${'accept'} | ${0}   | ${''}      | ${/receive connector Partner secure \(RemoteIPRanges 127\.0\.0\.0\/8\)/}
    ${'Default Frontend MAIL'} | ${false} | ${'accept'} | ${0}   | ${''}      | ${/receive connector Default Frontend MAIL/}
    ${undefined}               | ${false} | ${'refuse'} | ${554} | ${'5.7.1'} | ${/no receive connector binds 127\.0\.0\.21:25 for remote IP 127\.0\.1\.9/}
  `('decideReceiveConnector($connector), secure $secure → $action $code $enhanced', ({ connector, secure, action, code, enhanced, reason }) => {
    const chosen = RECEIVE.find((c) => c.Name === connector);
    const decision = decideReceiveConnector(chosen, facts(secure));
    expect(decision.connector).toBe(connector);
    if (connector) expect(decision).toMatchObject({ connectorType: 'Receive', matchedBy: 'remote IP 127.0.1.9' });
    expect(decision.verdict.outcome).toBe(action);
    if (decision.verdict.outcome === 'refuse') expect(decision.verdict.reply).toMatchObject({ code, enhanced });
    expect(decision.verdict.reason).toMatch(reason);
  });

  test('RequireTLS refusal is the documented 451 5.7.3 STARTTLS is required to send mail', () => {
    const decision = decideReceiveConnector(RECEIVE[3], facts(false));
    expect(decision.verdict).toMatchObject({ outcome: 'refuse', reply: { code: 451, enhanced: '5.7.3', text: 'STARTTLS is required to send mail' } });
  });
});
