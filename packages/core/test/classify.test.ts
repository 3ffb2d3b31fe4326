import {
  AUTH_MECHANISM,
  classifySession,
  classifySubmission,
  matchInboundConnector,
  nodeContext,
  type ChainCheck,
  type InboundConnector,
  type InboundDecision,
  type NodeSpec,
  type Organization,
  type ReceiveConnector,
} from '@relaylab/core';

/**
 * docs/exchange.md, "Header firewall and cross-premises headers", rule 3: the
 * receiving side trusts cross-premises headers only when the connection matched its hybrid
 * connector — in the cloud the OnPremises inbound connector by certificate, on premises a receive
 * connector whose TlsDomainCapabilities grants AcceptCloudServicesMail to the validated name.
 */

const ORGANIZATIONS: Record<string, Organization> = { contoso: { domains: ['contoso.example', 'contoso.mail.onmicrosoft.example'] } };

function chain(commonName: string | undefined, sans: string[], valid = true): ChainCheck {
  return {
    valid,
    chainsToTrustedRoot: valid,
    leaf: {
      subject: commonName ? `CN=${commonName}` : '',
      commonName,
      sans,
      issuer: 'CN=Relaylab Public Root CA',
      serial: '1A2B',
      notBefore: '2025-01-01T00:00:00.000Z',
      notAfter: '2027-01-01T00:00:00.000Z',
      fingerprint256: 'AA:BB:CC',
      selfIssued: false,
    },
    path: [],
    problems: valid ? [] : [`certificate ${commonName} is self-signed and not trusted`],
  };
}

// ---------------------------------------------------------------------------------------------
// Exchange Online: the inbound connector decides
// ---------------------------------------------------------------------------------------------

const HYBRID_INBOUND: InboundConnector = {
  Name: 'Inbound from 6f2a',
  ConnectorType: 'OnPremises',
  TlsSenderCertificateName: 'mail.contoso.example',
  CloudServicesMailEnabled: true,
};
const HYBRID_NO_CSM: InboundConnector = { Name: 'Inbound by cert, no CSM', ConnectorType: 'OnPremises', TlsSenderCertificateName: 'mail.contoso.example' };
const DEVICES_BY_IP: InboundConnector = { Name: 'Devices by IP', ConnectorType: 'OnPremises', SenderIPAddresses: ['127.0.0.50'] };
const DEVICES_INTERNAL: InboundConnector = {
  Name: 'Devices internal',
  ConnectorType: 'OnPremises',
  SenderIPAddresses: ['127.0.0.51'],
  TreatMessagesAsInternal: true,
};
const FABRIKAM: InboundConnector = {
  Name: 'Fabrikam forced TLS',
  ConnectorType: 'Partner',
  SenderDomains: ['fabrikam.example'],
  TlsSenderCertificateName: 'mail.fabrikam.example',
  RequireTls: true,
};

const EOP: NodeSpec = {
  role: 'exchange-online',
  hostname: 'contoso-com.mail.protection.outlook.example',
  address: '127.0.0.20',
  organization: 'contoso',
  inboundConnectors: [HYBRID_INBOUND, HYBRID_NO_CSM, DEVICES_BY_IP, DEVICES_INTERNAL, FABRIKAM],
};

const accepted = (connector: string, type: InboundDecision['connectorType'], matchedBy: string): InboundDecision => ({
  connector,
  connectorType: type,
  matchedBy,
  verdict: { outcome: 'accept', reason: `${connector} matched by ${matchedBy}` },
});

describe('classifySession on Exchange Online', () => {
  const ctx = nodeContext('eop', EOP, ORGANIZATIONS);

  test.each`
    case                                                            | inbound                                                                                  | authAs         | directionality   | acceptCrossPremises | fromEntity        | authMechanism                 | reason
    ${'OnPremises by certificate + CloudServicesMailEnabled'}       | ${accepted('Inbound from 6f2a', 'OnPremises', 'certificate mail.contoso.example')}       | ${'Internal'}  | ${'Originating'} | ${true}             | ${'HybridOnPrem'} | ${AUTH_MECHANISM.certificate} | ${/Inbound from 6f2a matched by certificate mail\.contoso\.example with CloudServicesMailEnabled/}
    ${'OnPremises by IP, the same hybrid connector'}                | ${accepted('Inbound from 6f2a', 'OnPremises', 'IP 127.0.0.10')}                          | ${'Anonymous'} | ${'Incoming'}    | ${false}            | ${'HybridOnPrem'} | ${undefined}                  | ${/matched by IP 127\.0\.0\.10; not authenticated as the hybrid partner/}
    ${'OnPremises by certificate without CloudServicesMailEnabled'} | ${accepted('Inbound by cert, no CSM', 'OnPremises', 'certificate mail.contoso.example')} | ${'Anonymous'} | ${'Incoming'}    | ${false}            | ${'HybridOnPrem'} | ${undefined}                  | ${/without CloudServicesMailEnabled/}
    ${'OnPremises by IP (device)'}                                  | ${accepted('Devices by IP', 'OnPremises', 'IP 127.0.0.50')}                              | ${'Anonymous'} | ${'Incoming'}    | ${false}            | ${'HybridOnPrem'} | ${undefined}                  | ${/Devices by IP matched by IP 127\.0\.0\.50/}
    ${'OnPremises by IP + TreatMessagesAsInternal'}                 | ${accepted('Devices internal', 'OnPremises', 'IP 127.0.0.51')}                           | ${'Internal'}  | ${'Originating'} | ${false}            | ${'HybridOnPrem'} | ${undefined}                  | ${/TreatMessagesAsInternal makes it internal/}
    ${'Partner connector'}                                          | ${accepted('Fabrikam forced TLS', 'Partner', 'certificate mail.fabrikam.example')}       | ${'Partner'}   | ${'Incoming'}    | ${false}            | ${'Internet'}     | ${undefined}                  | ${/Partner connector Fabrikam forced TLS/}
    ${'no connector matched'}                                       | ${{ verdict: { outcome: 'accept', reason: 'none' } }}                                    | ${'Anonymous'} | ${'Incoming'}    | ${false}            | ${'Internet'}     | ${undefined}                  | ${/no inbound connector matched: anonymous Internet mail/}
    ${'no inbound decision at all'}                                 | ${undefined}                                                                             | ${'Anonymous'} | ${'Incoming'}    | ${false}            | ${'Internet'}     | ${undefined}                  | ${/no inbound connector matched/}
    ${'a connector name the node does not have'}                    | ${accepted('Deleted connector', 'OnPremises', 'certificate mail.contoso.example')}       | ${'Anonymous'} | ${'Incoming'}    | ${false}            | ${'Internet'}     | ${undefined}                  | ${/no inbound connector matched/}
  `(
    '$case → $authAs, $directionality, crossPremises $acceptCrossPremises, $fromEntity',
    ({ inbound, authAs, directionality, acceptCrossPremises, fromEntity, authMechanism, reason }) => {
      const c = classifySession({ ctx, inbound, secure: true });
      expect(c).toMatchObject({ authAs, directionality, acceptCrossPremises, fromEntity, keepOrganizationHeaders: false, authSource: EOP.hostname });
      expect(c.authMechanism).toBe(authMechanism);
      expect(c.reason).toMatch(reason);
    },
  );

  // The same table, starting from what the wire showed (matchInboundConnector decides the connector).
  test.each`
    clientIp        | cert                                                              | senderDomain          | authAs         | acceptCrossPremises
    ${'127.0.0.10'} | ${chain('mail.contoso.example', ['mail.contoso.example'])}        | ${'contoso.example'}  | ${'Internal'}  | ${true}
    ${'127.0.0.10'} | ${chain('mail.contoso.example', ['mail.contoso.example'], false)} | ${'contoso.example'}  | ${'Anonymous'} | ${false}
    ${'127.0.0.50'} | ${undefined}                                                      | ${'contoso.example'}  | ${'Anonymous'} | ${false}
    ${'127.0.0.51'} | ${undefined}                                                      | ${'contoso.example'}  | ${'Internal'}  | ${false}
    ${'127.0.0.30'} | ${chain('mail.fabrikam.example', ['mail.fabrikam.example'])}      | ${'fabrikam.example'} | ${'Partner'}   | ${false}
    ${'127.0.0.99'} | ${chain('mx.tailspin.example', ['mx.tailspin.example'])}          | ${'tailspin.example'} | ${'Anonymous'} | ${false}
  `(
    'wire: $clientIp with certificate $cert.leaf.commonName (valid $cert.valid), MAIL FROM @$senderDomain → $authAs',
    ({ clientIp, cert, senderDomain, authAs, acceptCrossPremises }) => {
      const facts = { clientIp, localIp: EOP.address, localPort: 25, ehlo: 'client.example', secure: true, clientCertificate: cert };
      const inbound = matchInboundConnector(EOP.inboundConnectors!, facts, senderDomain);
      expect(inbound.verdict.outcome).toBe('accept');
      const c = classifySession({ ctx, inbound, clientCertificate: cert, secure: true });
      expect(c.authAs).toBe(authAs);
      expect(c.acceptCrossPremises).toBe(acceptCrossPremises);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Exchange Server: the receive connector and the validated client certificate decide
// ---------------------------------------------------------------------------------------------

const DEFAULT_FRONTEND: ReceiveConnector = {
  Name: 'Default Frontend MAIL',
  Bindings: ['0.0.0.0:25'],
  RemoteIPRanges: ['0.0.0.0-255.255.255.255'],
  PermissionGroups: ['AnonymousUsers', 'ExchangeServers'],
  AuthMechanism: ['Tls'],
  TlsCertificateName: '<I>CN=Relaylab Public Root CA<S>CN=mail.contoso.example',
  TlsDomainCapabilities: ['mail.protection.outlook.example:AcceptCloudServicesMail'],
};
const PLAIN_FRONTEND: ReceiveConnector = { ...DEFAULT_FRONTEND, Name: 'Plain Frontend', TlsDomainCapabilities: undefined };
const FILTER_RELAY: ReceiveConnector = {
  Name: 'From filter',
  RemoteIPRanges: ['127.0.0.40'],
  PermissionGroups: ['AnonymousUsers', 'ExchangeServers'],
  AuthMechanism: ['Tls', 'ExternalAuthoritative'],
};
const PARTNERS: ReceiveConnector = {
  Name: 'Partners TLS',
  RemoteIPRanges: ['127.0.0.30'],
  PermissionGroups: ['Partners'],
  AuthMechanism: ['Tls'],
  RequireTLS: true,
};
const MULTI_CAPABILITY: ReceiveConnector = {
  ...DEFAULT_FRONTEND,
  Name: 'Multi',
  TlsDomainCapabilities: ['mail.fabrikam.example:AcceptOorgProtocol', ' mail.protection.outlook.example : acceptcloudservicesmail , AcceptOorgProtocol '],
};
const OTHER_CAPABILITY_ONLY: ReceiveConnector = {
  ...DEFAULT_FRONTEND,
  Name: 'Oorg only',
  TlsDomainCapabilities: ['mail.protection.outlook.example:AcceptOorgProtocol'],
};

const ONPREM: NodeSpec = { role: 'exchange-server', hostname: 'mail.contoso.example', address: '127.0.0.10', organization: 'contoso' };

const EOP_CERT = chain('mail.protection.outlook.example', ['mail.protection.outlook.example', '*.mail.protection.outlook.example']);

describe('classifySession on Exchange Server', () => {
  const ctx = nodeContext('onprem', ONPREM, ORGANIZATIONS);

  test.each`
    case                                                                             | rc                       | cert                                                                                         | authAs         | acceptCrossPremises | keepOrganizationHeaders | reason
    ${'EOP certificate (CN + SANs incl. wildcard), granted AcceptCloudServicesMail'} | ${DEFAULT_FRONTEND}      | ${EOP_CERT}                                                                                  | ${'Internal'}  | ${true}             | ${false}                | ${/Default Frontend MAIL grants AcceptCloudServicesMail to mail\.protection\.outlook\.example/}
    ${'granted name only in a SAN (CN is the tenant host)'}                          | ${DEFAULT_FRONTEND}      | ${chain('contoso-com.mail.protection.outlook.example', ['mail.protection.outlook.example'])} | ${'Internal'}  | ${true}             | ${false}                | ${/grants AcceptCloudServicesMail to mail\.protection\.outlook\.example/}
    ${'only the wildcard *.mail.protection.outlook.example (one label below)'}       | ${DEFAULT_FRONTEND}      | ${chain(undefined, ['*.mail.protection.outlook.example'])}                                   | ${'Anonymous'} | ${false}            | ${false}                | ${/certificate \*\.mail\.protection\.outlook\.example is not granted AcceptCloudServicesMail \(mail\.protection\.outlook\.example\)/}
    ${'wildcard one level up: *.protection.outlook.example covers the granted name'} | ${DEFAULT_FRONTEND}      | ${chain(undefined, ['*.protection.outlook.example'])}                                        | ${'Internal'}  | ${true}             | ${false}                | ${/grants AcceptCloudServicesMail to \*\.protection\.outlook\.example/}
    ${'same EOP names, untrusted/invalid chain'}                                     | ${DEFAULT_FRONTEND}      | ${chain('mail.protection.outlook.example', ['mail.protection.outlook.example'], false)}      | ${'Anonymous'} | ${false}            | ${false}                | ${/certificate not trusted is not granted AcceptCloudServicesMail/}
    ${'no client certificate presented'}                                             | ${DEFAULT_FRONTEND}      | ${undefined}                                                                                 | ${'Anonymous'} | ${false}            | ${false}                | ${/certificate not presented is not granted AcceptCloudServicesMail/}
    ${'a valid certificate with another name'}                                       | ${DEFAULT_FRONTEND}      | ${chain('mx.tailspin.example', ['mx.tailspin.example'])}                                     | ${'Anonymous'} | ${false}            | ${false}                | ${/certificate mx\.tailspin\.example is not granted/}
    ${'capability list parsed case-insensitively, among other capabilities'}         | ${MULTI_CAPABILITY}      | ${EOP_CERT}                                                                                  | ${'Internal'}  | ${true}             | ${false}                | ${/Multi grants AcceptCloudServicesMail/}
    ${'another capability for the EOP name is not AcceptCloudServicesMail'}          | ${OTHER_CAPABILITY_ONLY} | ${EOP_CERT}                                                                                  | ${'Anonymous'} | ${false}            | ${false}                | ${/receive connector Oorg only grants AnonymousUsers, ExchangeServers/}
    ${'EOP certificate on a connector without TlsDomainCapabilities'}                | ${PLAIN_FRONTEND}        | ${EOP_CERT}                                                                                  | ${'Anonymous'} | ${false}            | ${false}                | ${/receive connector Plain Frontend grants AnonymousUsers, ExchangeServers/}
    ${'AuthMechanism ExternalAuthoritative (externally secured)'}                    | ${FILTER_RELAY}          | ${undefined}                                                                                 | ${'Internal'}  | ${false}            | ${true}                 | ${/From filter has AuthMechanism ExternalAuthoritative/}
    ${'Partners permission group, validated certificate, domain not secured'}        | ${PARTNERS}              | ${chain('mail.fabrikam.example', ['mail.fabrikam.example'])}                                 | ${'Anonymous'} | ${false}            | ${false}                | ${/receive connector Partners TLS grants Partners/}
    ${'Partners permission group, invalid certificate'}                              | ${PARTNERS}              | ${chain('mail.fabrikam.example', ['mail.fabrikam.example'], false)}                          | ${'Anonymous'} | ${false}            | ${false}                | ${/receive connector Partners TLS grants Partners/}
    ${'no receive connector'}                                                        | ${undefined}             | ${undefined}                                                                                 | ${'Anonymous'} | ${false}            | ${false}                | ${/receive connector \(none\) grants nothing/}
  `('$case → $authAs', ({ rc, cert, authAs, acceptCrossPremises, keepOrganizationHeaders, reason }) => {
    const c = classifySession({ ctx, receiveConnector: rc, clientCertificate: cert, secure: true });
    expect(c.authAs).toBe(authAs);
    expect(c.acceptCrossPremises).toBe(acceptCrossPremises);
    expect(c.keepOrganizationHeaders).toBe(keepOrganizationHeaders);
    expect(c.directionality).toBe(authAs === 'Internal' ? 'Originating' : 'Incoming');
    expect(c.fromEntity).toBe(authAs === 'Internal' ? 'HybridOnPrem' : 'Internet');
    expect(c.authSource).toBe('mail.contoso.example');
    expect(c.reason).toMatch(reason);
  });

  test('auth mechanism codes: certificate for hybrid, ExternalAuthoritative for an externally secured connector', () => {
    expect(classifySession({ ctx, receiveConnector: DEFAULT_FRONTEND, clientCertificate: EOP_CERT, secure: true }).authMechanism).toBe(
      AUTH_MECHANISM.certificate,
    );
    expect(classifySession({ ctx, receiveConnector: FILTER_RELAY, secure: false }).authMechanism).toBe(AUTH_MECHANISM.externalAuthoritative);
    expect(classifySession({ ctx, receiveConnector: DEFAULT_FRONTEND, secure: false }).authMechanism).toBeUndefined();
  });

  test('the same hybrid grant takes precedence over ExternalAuthoritative on one connector', () => {
    const both: ReceiveConnector = { ...DEFAULT_FRONTEND, Name: 'Both', AuthMechanism: ['Tls', 'ExternalAuthoritative'] };
    const c = classifySession({ ctx, receiveConnector: both, clientCertificate: EOP_CERT, secure: true });
    expect(c).toMatchObject({ authAs: 'Internal', acceptCrossPremises: true, keepOrganizationHeaders: false });
  });

  test('Edge uses the server model too', () => {
    const edge = nodeContext('edge', { ...ONPREM, role: 'edge', hostname: 'edge.contoso.example' }, ORGANIZATIONS);
    const c = classifySession({ ctx: edge, receiveConnector: DEFAULT_FRONTEND, clientCertificate: EOP_CERT, secure: true });
    expect(c).toMatchObject({ authAs: 'Internal', acceptCrossPremises: true, authSource: 'edge.contoso.example' });
  });
});

describe('classifySubmission: a user of the node sends', () => {
  test.each`
    node
    ${'eop'}
    ${'onprem'}
  `('$node → Internal, Originating, Hosted', ({ node }) => {
    const ctx = nodeContext(node, node === 'eop' ? EOP : ONPREM, ORGANIZATIONS);
    const c = classifySubmission(ctx);
    expect(c).toMatchObject({
      authAs: 'Internal',
      directionality: 'Originating',
      authMechanism: AUTH_MECHANISM.submission,
      acceptCrossPremises: false,
      fromEntity: 'Hosted',
      authSource: ctx.spec.hostname,
    });
    expect(c.reason).toBe(`submitted by a user of ${ctx.spec.hostname}`);
  });
});

test('Partners with a validated certificate is Partner only for a domain in TLSReceiveDomainSecureList (domain security)', () => {
  const ctx = nodeContext(
    'onprem',
    {
      role: 'exchange-server',
      hostname: 'mail.contoso.example',
      address: '127.0.0.10',
      organization: 'contoso',
      transportConfig: { TLSReceiveDomainSecureList: ['fabrikam.example'] },
    },
    { contoso: { domains: ['contoso.example'] } },
  );
  const cert = chain('mail.fabrikam.example', ['mail.fabrikam.example']);
  const secured = classifySession({ ctx, receiveConnector: PARTNERS, clientCertificate: cert, secure: true, senderDomain: 'fabrikam.example' });
  expect(secured.authAs).toBe('Partner');
  expect(secured.reason).toMatch(/fabrikam\.example is in TLSReceiveDomainSecureList/);
  expect(classifySession({ ctx, receiveConnector: PARTNERS, clientCertificate: cert, secure: true, senderDomain: 'tailspin.example' }).authAs).toBe(
    'Anonymous',
  );
});
