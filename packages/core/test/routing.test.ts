import {
  DEFAULT_ROUTE,
  ROLE_PRESETS,
  headerValues,
  nodeContext,
  outboundRoutes,
  parseHeaders,
  prependHeader,
  receivedHeader,
  routeRecipient,
  type RecipientDecision,
  selectOutboundRoute,
  type NodeSpec,
  type Organization,
  type OutboundConnector,
  type ReceivedInput,
  type SendConnector,
} from '@relaylab/core';

/** docs/exchange.md, "The cast", "Connectors and their parameters", "Tenant attribution in Exchange Online", "Routing choices". */

const ORGANIZATIONS: Record<string, Organization> = {
  contoso: { domains: ['contoso.example', 'Cloudonly.Contoso.Example', 'contoso.mail.onmicrosoft.example'] },
};

const HYBRID_OUTBOUND: OutboundConnector = {
  Name: 'Outbound to 6f2a',
  ConnectorType: 'OnPremises',
  RecipientDomains: ['contoso.example'],
  UseMXRecord: false,
  SmartHosts: ['mail.contoso.example'],
  TlsSettings: 'DomainValidation',
  TlsDomain: 'mail.contoso.example',
  CloudServicesMailEnabled: true,
};

const EOP: NodeSpec = {
  role: 'exchange-online',
  hostname: 'contoso-com.mail.protection.outlook.example',
  address: '127.0.0.20',
  organization: 'contoso',
  mailboxes: ['Alice@contoso.example'],
  outboundConnectors: [HYBRID_OUTBOUND],
};

const TO_OFFICE_365: SendConnector = {
  Name: 'Outbound to Office 365',
  AddressSpaces: ['smtp:contoso.mail.onmicrosoft.example;1'],
  DNSRoutingEnabled: true,
  RequireTLS: true,
  TlsAuthLevel: 'DomainValidation',
  TlsDomain: 'mail.protection.outlook.example',
  TlsCertificateName: '<I>CN=Relaylab Public Root CA<S>CN=mail.contoso.example',
  CloudServicesMailEnabled: true,
};

const ONPREM: NodeSpec = {
  role: 'exchange-server',
  hostname: 'mail.contoso.example',
  address: '127.0.0.10',
  organization: 'contoso',
  mailboxes: ['bob@contoso.example'],
  sendConnectors: [TO_OFFICE_365],
};

const PARTNER: NodeSpec = { role: 'partner', hostname: 'mx.fabrikam.example', address: '127.0.0.30', mailboxes: ['frank@fabrikam.example'] };

const NODES: Record<string, NodeSpec> = { eop: EOP, onprem: ONPREM, partner: PARTNER };

const ANONYMOUS = { allowed: false, reason: 'anonymous' };

/** The row's vocabulary: refused, or accepted for a local mailbox, a connector, or a bounce. */
const kindOf = (d: RecipientDecision) => (d.outcome === 'refuse' ? 'refuse' : d.destination.kind);

describe('routeRecipient', () => {
  test.each`
    node         | recipient                                   | relayAllowed | kind            | detail                      | code   | enhanced
    ${'eop'}     | ${'alice@contoso.example'}                  | ${false}     | ${'local'}      | ${'alice@contoso.example'}  | ${0}   | ${''}
    ${'eop'}     | ${'ALICE@Contoso.Example'}                  | ${false}     | ${'local'}      | ${'alice@contoso.example'}  | ${0}   | ${''}
    ${'eop'}     | ${'bob@contoso.example'}                    | ${false}     | ${'relay'}      | ${'Outbound to 6f2a'}       | ${0}   | ${''}
    ${'eop'}     | ${'carol@cloudonly.contoso.example'}        | ${false}     | ${'refuse'}     | ${''}                       | ${550} | ${'5.1.10'}
    ${'eop'}     | ${'carol@cloudonly.contoso.example'}        | ${true}      | ${'refuse'}     | ${''}                       | ${550} | ${'5.1.10'}
    ${'eop'}     | ${'dave@fabrikam.example'}                  | ${false}     | ${'refuse'}     | ${''}                       | ${550} | ${'5.7.64'}
    ${'eop'}     | ${'dave@fabrikam.example'}                  | ${true}      | ${'relay'}      | ${DEFAULT_ROUTE.connector}  | ${0}   | ${''}
    ${'onprem'}  | ${'bob@contoso.example'}                    | ${false}     | ${'local'}      | ${'bob@contoso.example'}    | ${0}   | ${''}
    ${'onprem'}  | ${'alice@contoso.mail.onmicrosoft.example'} | ${false}     | ${'relay'}      | ${'Outbound to Office 365'} | ${0}   | ${''}
    ${'onprem'}  | ${'carol@contoso.example'}                  | ${false}     | ${'refuse'}     | ${''}                       | ${550} | ${'5.1.1'}
    ${'onprem'}  | ${'dave@fabrikam.example'}                  | ${false}     | ${'refuse'}     | ${''}                       | ${550} | ${'5.7.54'}
    ${'onprem'}  | ${'dave@fabrikam.example'}                  | ${true}      | ${'unroutable'} | ${''}                       | ${550} | ${'5.4.4'}
    ${'partner'} | ${'frank@fabrikam.example'}                 | ${false}     | ${'local'}      | ${'frank@fabrikam.example'} | ${0}   | ${''}
    ${'partner'} | ${'bob@contoso.example'}                    | ${false}     | ${'refuse'}     | ${''}                       | ${550} | ${'5.7.54'}
    ${'partner'} | ${'bob@contoso.example'}                    | ${true}      | ${'relay'}      | ${DEFAULT_ROUTE.connector}  | ${0}   | ${''}
  `(
    '$node: RCPT TO <$recipient>, relay allowed $relayAllowed → $kind $detail $code $enhanced',
    ({ node, recipient, relayAllowed, kind, detail, code, enhanced }) => {
      const ctx = nodeContext(node, NODES[node], ORGANIZATIONS);
      const decision = routeRecipient(ctx, recipient, { allowed: relayAllowed, reason: relayAllowed ? 'OnPremises connector' : 'anonymous session' });
      expect(kindOf(decision)).toBe(kind);
      const reply = decision.outcome === 'refuse' ? decision.reply : decision.destination.kind === 'unroutable' ? decision.destination.reply : undefined;
      if (reply) {
        expect(reply.code).toBe(code);
        expect(reply.enhanced).toBe(enhanced);
      }
      if (decision.outcome === 'accept' && decision.destination.kind === 'local') expect(decision.destination.mailbox).toBe(detail);
      if (decision.outcome === 'accept' && decision.destination.kind === 'relay') expect(decision.destination.route.connector).toBe(detail);
    },
  );

  test('the hybrid shared namespace relays through the connector with its TLS policy and smart host', () => {
    const ctx = nodeContext('eop', EOP, ORGANIZATIONS);
    const decision = routeRecipient(ctx, 'bob@contoso.example', ANONYMOUS);
    expect(kindOf(decision)).toBe('relay');
    if (decision.outcome !== 'accept' || decision.destination.kind !== 'relay') return;
    expect(decision.destination.route).toMatchObject({
      kind: 'OutboundConnector',
      smartHosts: ['mail.contoso.example'],
      tls: { requirement: 'DomainValidation', settingName: 'TlsSettings', tlsDomain: 'mail.contoso.example' },
      cloudServicesMailEnabled: true,
    });
    expect(decision.reason).toMatch(/contoso\.example is an accepted domain without a mailbox for bob@contoso\.example.*Outbound to 6f2a/);
  });

  test('refusal texts: 5.7.64 TenantAttribution on Exchange Online, 5.7.54 on Exchange Server, 5.1.10 RecipientNotFound', () => {
    const eop = nodeContext('eop', EOP, ORGANIZATIONS);
    const onprem = nodeContext('onprem', ONPREM, ORGANIZATIONS);
    const online = routeRecipient(eop, 'dave@fabrikam.example', ANONYMOUS);
    const server = routeRecipient(onprem, 'dave@fabrikam.example', ANONYMOUS);
    const missing = routeRecipient(eop, 'carol@cloudonly.contoso.example', ANONYMOUS);
    expect(online.outcome === 'refuse' && online.reply.text).toBe('TenantAttribution; Relay Access Denied');
    expect(server.outcome === 'refuse' && server.reply.text).toMatch(/Unable to relay/);
    expect(missing.outcome === 'refuse' && missing.reply.text).toMatch(/RecipientNotFound/);
    expect(online.reason).toMatch(/fabrikam\.example is not an accepted domain .*anonymous/);
  });

  test('nodeContext normalizes accepted domains and mailboxes', () => {
    const ctx = nodeContext('eop', EOP, ORGANIZATIONS);
    expect(ctx.acceptedDomains).toEqual(['contoso.example', 'cloudonly.contoso.example', 'contoso.mail.onmicrosoft.example']);
    expect([...ctx.mailboxes]).toEqual(['alice@contoso.example']);
    expect(ctx.preset).toBe(ROLE_PRESETS['exchange-online']);
    expect(nodeContext('partner', PARTNER, ORGANIZATIONS).acceptedDomains).toEqual([]);
  });
});

describe('selectOutboundRoute: the most specific domain pattern wins', () => {
  const connectors: OutboundConnector[] = [
    { Name: 'Everything via filter', RecipientDomains: ['*'], SmartHosts: ['filter.contoso.example'] },
    {
      Name: 'Fabrikam forced TLS',
      ConnectorType: 'Partner',
      RecipientDomains: ['fabrikam.example'],
      TlsSettings: 'DomainValidation',
      TlsDomain: 'mail.fabrikam.example',
    },
    { Name: 'Fabrikam subsidiaries', RecipientDomains: ['*.fabrikam.example'] },
    { Name: 'Fabrikam EU', RecipientDomains: ['eu.fabrikam.example'] },
    { Name: 'Rule scoped', IsTransportRuleScoped: true, RecipientDomains: ['tailspin.example'] },
    { Name: 'Disabled', Enabled: false, RecipientDomains: ['tailspin.example'] },
  ];
  const node: NodeSpec = { role: 'exchange-online', hostname: 'eop', address: '127.0.0.20', outboundConnectors: connectors };

  test.each`
    domain                     | connector
    ${'fabrikam.example'}      | ${'Fabrikam forced TLS'}
    ${'Fabrikam.Example.'}     | ${'Fabrikam forced TLS'}
    ${'eu.fabrikam.example'}   | ${'Fabrikam EU'}
    ${'us.fabrikam.example'}   | ${'Fabrikam subsidiaries'}
    ${'a.eu.fabrikam.example'} | ${'Fabrikam subsidiaries'}
    ${'tailspin.example'}      | ${'Everything via filter'}
  `('$domain → $connector', ({ domain, connector }) => {
    const routes = outboundRoutes(node, []);
    expect(selectOutboundRoute(routes, domain, ROLE_PRESETS['exchange-online'])?.connector).toBe(connector);
  });

  test('connector order does not matter', () => {
    const reversed: NodeSpec = { ...node, outboundConnectors: [...connectors].reverse() };
    const routes = outboundRoutes(reversed, []);
    expect(selectOutboundRoute(routes, 'eu.fabrikam.example', ROLE_PRESETS['exchange-online'])?.connector).toBe('Fabrikam EU');
    expect(selectOutboundRoute(routes, 'fabrikam.example', ROLE_PRESETS['exchange-online'])?.connector).toBe('Fabrikam forced TLS');
  });

  test.each`
    role                 | expected
    ${'exchange-online'} | ${DEFAULT_ROUTE.connector}
    ${'partner'}         | ${DEFAULT_ROUTE.connector}
    ${'exchange-server'} | ${undefined}
    ${'edge'}            | ${undefined}
  `('no connector claims the domain on $role → $expected', ({ role, expected }) => {
    const routes = outboundRoutes({ ...node, outboundConnectors: [connectors[1]] }, []);
    expect(selectOutboundRoute(routes, 'tailspin.example', ROLE_PRESETS[role as keyof typeof ROLE_PRESETS])?.connector).toBe(expected);
  });

  test('the default route is MX with opportunistic TLS', () => {
    expect(DEFAULT_ROUTE).toMatchObject({ kind: 'Default', smartHosts: [], tls: { requirement: 'Opportunistic' } });
  });

  test('AllAcceptedDomains covers the accepted domains', () => {
    const all: NodeSpec = {
      ...node,
      outboundConnectors: [{ Name: 'Centralized', AllAcceptedDomains: true, RecipientDomains: ['*'], RouteAllMessagesViaOnPremises: true }],
    };
    const routes = outboundRoutes(all, ['contoso.example']);
    expect(routes[0].domains).toEqual(['*', 'contoso.example']);
  });
});

describe('send connectors: AddressSpaces syntax and TLS policy', () => {
  test.each`
    space                                 | domain
    ${'SMTP:*.contoso.com;1'}             | ${'*.contoso.com'}
    ${'smtp:contoso.com;10'}              | ${'contoso.com'}
    ${'SMTP:*;1'}                         | ${'*'}
    ${'contoso.mail.onmicrosoft.example'} | ${'contoso.mail.onmicrosoft.example'}
  `('AddressSpaces $space → $domain', ({ space, domain }) => {
    const routes = outboundRoutes({ ...ONPREM, sendConnectors: [{ Name: 'S', AddressSpaces: [space] }] }, []);
    expect(routes[0].domains).toEqual([domain]);
  });

  test('SMTP:*.contoso.com;1 routes subdomains of contoso.com, and an exact space beats it', () => {
    const spec: NodeSpec = {
      ...ONPREM,
      sendConnectors: [
        { Name: 'Internet', AddressSpaces: ['SMTP:*;1'] },
        { Name: 'Contoso subsidiaries', AddressSpaces: ['SMTP:*.contoso.com;1'] },
        { Name: 'Contoso Sales', AddressSpaces: ['SMTP:sales.contoso.com;1'] },
      ],
    };
    const routes = outboundRoutes(spec, []);
    const preset = ROLE_PRESETS['exchange-server'];
    expect(selectOutboundRoute(routes, 'eu.contoso.com', preset)?.connector).toBe('Contoso subsidiaries');
    expect(selectOutboundRoute(routes, 'sales.contoso.com', preset)?.connector).toBe('Contoso Sales');
    expect(selectOutboundRoute(routes, 'fabrikam.example', preset)?.connector).toBe('Internet');
  });

  test.each`
    connector                                                                                               | requirement                | settingName       | tlsDomain
    ${{ RequireTLS: true }}                                                                                 | ${'EncryptionOnly'}        | ${'RequireTLS'}   | ${undefined}
    ${{ RequireTLS: true, TlsAuthLevel: 'EncryptionOnly' }}                                                 | ${'EncryptionOnly'}        | ${'TlsAuthLevel'} | ${undefined}
    ${{ RequireTLS: true, TlsAuthLevel: 'CertificateValidation' }}                                          | ${'CertificateValidation'} | ${'TlsAuthLevel'} | ${undefined}
    ${{ RequireTLS: true, TlsAuthLevel: 'DomainValidation', TlsDomain: 'mail.protection.outlook.example' }} | ${'DomainValidation'}      | ${'TlsAuthLevel'} | ${'mail.protection.outlook.example'}
    ${{ RequireTLS: false }}                                                                                | ${'Opportunistic'}         | ${'RequireTLS'}   | ${undefined}
    ${{}}                                                                                                   | ${'Opportunistic'}         | ${'RequireTLS'}   | ${undefined}
  `('send connector $connector → $requirement ($settingName)', ({ connector, requirement, settingName, tlsDomain }) => {
    const routes = outboundRoutes({ ...ONPREM, sendConnectors: [{ Name: 'S', AddressSpaces: ['*'], ...connector }] }, []);
    expect(routes[0].kind).toBe('SendConnector');
    expect(routes[0].tls).toEqual({ requirement, settingName, tlsDomain });
  });

  test.each`
    TlsSettings                | requirement
    ${null}                    | ${'Opportunistic'}
    ${undefined}               | ${'Opportunistic'}
    ${'EncryptionOnly'}        | ${'EncryptionOnly'}
    ${'CertificateValidation'} | ${'CertificateValidation'}
    ${'DomainValidation'}      | ${'DomainValidation'}
  `('outbound connector TlsSettings $TlsSettings → $requirement', ({ TlsSettings, requirement }) => {
    const routes = outboundRoutes({ ...EOP, outboundConnectors: [{ Name: 'O', RecipientDomains: ['*'], TlsSettings }] }, []);
    expect(routes[0].tls).toMatchObject({ requirement, settingName: 'TlsSettings' });
  });

  test.each`
    kind          | connector                                                               | smartHosts
    ${'outbound'} | ${{ UseMXRecord: false, SmartHosts: ['mail.contoso.example'] }}         | ${['mail.contoso.example']}
    ${'outbound'} | ${{ SmartHosts: ['mail.contoso.example'] }}                             | ${['mail.contoso.example']}
    ${'outbound'} | ${{ UseMXRecord: true }}                                                | ${[]}
    ${'send'}     | ${{ DNSRoutingEnabled: false, SmartHosts: ['filter.contoso.example'] }} | ${['filter.contoso.example']}
    ${'send'}     | ${{ SmartHosts: ['filter.contoso.example'] }}                           | ${['filter.contoso.example']}
    ${'send'}     | ${{ DNSRoutingEnabled: true }}                                          | ${[]}
  `('$kind connector $connector → smart hosts $smartHosts', ({ kind, connector, smartHosts }) => {
    const spec: NodeSpec =
      kind === 'outbound'
        ? { ...EOP, outboundConnectors: [{ Name: 'O', RecipientDomains: ['*'], ...connector }] }
        : { ...ONPREM, sendConnectors: [{ Name: 'S', AddressSpaces: ['*'], ...connector }] };
    expect(outboundRoutes(spec, [])[0].smartHosts).toEqual(smartHosts);
  });
});

describe('receivedHeader: each server writes its own form', () => {
  const date = new Date(Date.UTC(2024, 2, 5, 9, 7, 3));
  const base: Omit<ReceivedInput, 'style' | 'tls'> = {
    ehlo: 'mail.contoso.example',
    clientIp: '127.0.0.10',
    byHost: 'contoso-com.mail.protection.outlook.example',
    byIp: '127.0.0.20',
    queueId: '8466.12',
    date,
  };

  test.each`
    style         | tls                                                                                                                                      | expected
    ${'exchange'} | ${{ secure: true, protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-AES256-GCM-SHA384', standardCipher: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384' }} | ${'from mail.contoso.example (127.0.0.10) by contoso-com.mail.protection.outlook.example (127.0.0.20) with Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.8466.12; Tue, 5 Mar 2024 09:07:03 +0000'}
    ${'exchange'} | ${{ secure: true, protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', standardCipher: 'TLS_AES_256_GCM_SHA384' }}                     | ${'from mail.contoso.example (127.0.0.10) by contoso-com.mail.protection.outlook.example (127.0.0.20) with Microsoft SMTP Server (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) id 15.20.8466.12; Tue, 5 Mar 2024 09:07:03 +0000'}
    ${'exchange'} | ${{ secure: false }}                                                                                                                     | ${'from mail.contoso.example (127.0.0.10) by contoso-com.mail.protection.outlook.example (127.0.0.20) with Microsoft SMTP Server id 15.20.8466.12; Tue, 5 Mar 2024 09:07:03 +0000'}
  `('$style, $tls.protocol', ({ style, tls, expected }) => {
    expect(receivedHeader({ ...base, style, tls })).toBe(expected);
  });

  test('Postfix form with TLS: (using TLSv1.3 with cipher … (256/256 bits)), ESMTPS, folded lines', () => {
    const value = receivedHeader({
      ...base,
      style: 'postfix',
      byHost: 'mx.tailspin.example',
      tls: { secure: true, protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', cipherBits: 256 },
      recipient: 'bob@tailspin.example',
    });
    expect(value).toBe(
      'from mail.contoso.example (mail.contoso.example [127.0.0.10])\r\n' +
        '\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n' +
        '\tby mx.tailspin.example (Postfix) with ESMTPS id 8466.12\r\n' +
        '\tfor <bob@tailspin.example>; Tue, 5 Mar 2024 09:07:03 +0000',
    );
  });

  test('Postfix form in plaintext: ESMTP and no "using" clause', () => {
    const value = receivedHeader({ ...base, style: 'postfix', byHost: 'mx.tailspin.example', tls: { secure: false } });
    expect(value).toContain('with ESMTP id 8466.12');
    expect(value).not.toContain('ESMTPS');
    expect(value).not.toContain('using');
  });

  test('a folded Postfix Received header can be prepended and reads back unfolded', () => {
    const value = receivedHeader({ ...base, style: 'postfix', tls: { secure: true, protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' } });
    const raw = prependHeader(Buffer.from('Subject: hi\r\n\r\nbody\r\n'), 'Received', value);
    expect(headerValues(raw, 'received')[0]).toBe(
      'from mail.contoso.example (mail.contoso.example [127.0.0.10]) (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)) by contoso-com.mail.protection.outlook.example (Postfix) with ESMTPS id 8466.12; Tue, 5 Mar 2024 09:07:03 +0000',
    );
  });
});

describe('prependHeader refuses header injection', () => {
  const raw = Buffer.from('Received: from a\r\nSubject: hello\r\n\r\nX-Not-A-Header: body\r\n');

  test.each`
    value                         | accepted | why
    ${'plain value'}              | ${true}  | ${'no line break'}
    ${'first\r\n\tsecond'}        | ${true}  | ${'folded with CRLF + TAB'}
    ${'first\r\n second'}         | ${true}  | ${'folded with CRLF + space'}
    ${'first\n\tsecond'}          | ${true}  | ${'LF followed by folding whitespace (normalized to CRLF)'}
    ${'first\nsecond'}            | ${false} | ${'bare LF starts a new line'}
    ${'first\rsecond'}            | ${false} | ${'bare CR'}
    ${'first\r second'}           | ${false} | ${'CR not followed by LF, even before whitespace'}
    ${'first\r\nX-Injected: yes'} | ${false} | ${'CRLF not followed by folding whitespace'}
    ${'first\nX-Injected: yes'}   | ${false} | ${'LF-injected field'}
    ${'first\r\n\r\nfake body'}   | ${false} | ${'blank line ends the header'}
    ${'first\r\n'}                | ${false} | ${'trailing line break'}
  `('value $why → accepted $accepted', ({ value, accepted }) => {
    if (!accepted) {
      expect(() => prependHeader(raw, 'X-Test', value)).toThrow(/would inject a line break/);
      return;
    }
    const out = prependHeader(raw, 'X-Test', value);
    const text = out.toString('latin1');
    expect(text.endsWith(raw.toString('latin1'))).toBe(true);
    expect(text).not.toMatch(/[^\r]\n/); // every line break of the result is CRLF
    const fields = parseHeaders(out);
    expect(fields.map((f) => f.name)).toEqual(['X-Test', 'Received', 'Subject']);
    expect(headerValues(out, 'x-test')).toEqual([value.replace(/\r?\n[ \t]+/g, ' ')]);
  });

  test.each`
    name                      | why
    ${'X-Test\r\nX-Injected'} | ${'CRLF in the name'}
    ${'X-Test\nX'}            | ${'LF in the name'}
    ${'X-Test: injected'}     | ${'colon in the name'}
  `('header name with $why is refused', ({ name }) => {
    expect(() => prependHeader(raw, name, 'v')).toThrow(/would inject a line break/);
  });

  test('the body is never read as headers and is left byte for byte', () => {
    const out = prependHeader(raw, 'X-MS-Exchange-Organization-AuthAs', 'Anonymous');
    expect(headerValues(out, 'X-Not-A-Header')).toEqual([]);
    expect(out.subarray(out.length - raw.length).equals(raw)).toBe(true);
    expect(headerValues(out, 'x-ms-exchange-organization-authas')).toEqual(['Anonymous']);
  });

  test('parseHeaders reads LF-only messages too', () => {
    const lf = Buffer.from('Received: one\n\tfolded\nReceived: two\n\nbody: no\n');
    expect(headerValues(lf, 'Received')).toEqual(['one folded', 'two']);
    expect(headerValues(lf, 'body')).toEqual([]);
  });
});
