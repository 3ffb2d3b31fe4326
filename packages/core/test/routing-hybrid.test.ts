import { nodeContext, routeRecipient, type NodeSpec, type Organization, type SendConnector } from '@relaylab/core';

/**
 * docs/exchange.md, "The cast": on-premises mail for a mailbox that moved to the cloud goes to
 * alias@contoso.mail.onmicrosoft.com (the remote mailbox's RemoteRoutingAddress) — the
 * categorizer retargets the recipient and routes on the routing domain.
 */

const ORGS: Record<string, Organization> = { contoso: { domains: ['contoso.example', 'contoso.mail.onmicrosoft.example'] } };

const TO_OFFICE_365: SendConnector = {
  Name: 'Outbound to Office 365',
  AddressSpaces: ['smtp:contoso.mail.onmicrosoft.example;1'],
  DNSRoutingEnabled: true,
  RequireTLS: true,
  TlsAuthLevel: 'DomainValidation',
  TlsDomain: 'mail.protection.outlook.example',
  CloudServicesMailEnabled: true,
};
const INTERNET: SendConnector = { Name: 'Internet', AddressSpaces: ['SMTP:*;1'], DNSRoutingEnabled: true };

const ONPREM: NodeSpec = {
  role: 'exchange-server',
  hostname: 'mail.contoso.example',
  address: '127.0.0.10',
  organization: 'contoso',
  mailboxes: ['bob@contoso.example', 'both@contoso.example'],
  proxyAddresses: {
    'Robert@Contoso.Example': 'Bob@Contoso.Example',
    'sales@contoso.example': 'bob@contoso.example',
    'orphan@contoso.example': 'gone@contoso.example',
    'a.smith@contoso.example': 'alice@contoso.example',
  },
  remoteMailboxes: {
    'Alice@Contoso.Example': 'Alice@Contoso.Mail.OnMicrosoft.Example',
    'both@contoso.example': 'both@contoso.mail.onmicrosoft.example',
    'dan@contoso.example': 'dan@elsewhere.example',
  },
  sendConnectors: [TO_OFFICE_365, INTERNET],
};
const ONPREM_NO_HYBRID: NodeSpec = { ...ONPREM, sendConnectors: [] };
const ONPREM_HYBRID_ONLY: NodeSpec = { ...ONPREM, sendConnectors: [TO_OFFICE_365] };

const ANONYMOUS = { allowed: false, reason: 'anonymous session' };

describe('routeRecipient on premises: remote mailboxes and proxy addresses', () => {
  test.each`
    case                                                                        | spec                  | recipient                                   | kind            | target                    | connector                   | retarget
    ${'mailbox on this server'}                                                 | ${ONPREM}             | ${'bob@contoso.example'}                    | ${'local'}      | ${'bob@contoso.example'}  | ${undefined}                | ${undefined}
    ${'a local mailbox wins over a remoteMailboxes entry'}                      | ${ONPREM}             | ${'both@contoso.example'}                   | ${'local'}      | ${'both@contoso.example'} | ${undefined}                | ${undefined}
    ${'proxy address → its mailbox (case-insensitive both sides)'}              | ${ONPREM}             | ${'ROBERT@contoso.example'}                 | ${'local'}      | ${'bob@contoso.example'}  | ${undefined}                | ${undefined}
    ${'another proxy address of the same mailbox'}                              | ${ONPREM}             | ${'sales@contoso.example'}                  | ${'local'}      | ${'bob@contoso.example'}  | ${undefined}                | ${undefined}
    ${'remote mailbox → retarget through the connector for the routing domain'} | ${ONPREM}             | ${'alice@contoso.example'}                  | ${'relay'}      | ${undefined}              | ${'Outbound to Office 365'} | ${'alice@contoso.mail.onmicrosoft.example'}
    ${'remote mailbox, address in another case'}                                | ${ONPREM}             | ${'ALICE@CONTOSO.EXAMPLE'}                  | ${'relay'}      | ${undefined}              | ${'Outbound to Office 365'} | ${'alice@contoso.mail.onmicrosoft.example'}
    ${'the routing address itself: the most specific connector (not *)'}        | ${ONPREM}             | ${'alice@contoso.mail.onmicrosoft.example'} | ${'relay'}      | ${undefined}              | ${'Outbound to Office 365'} | ${undefined}
    ${'remote mailbox whose routing domain only * covers'}                      | ${ONPREM}             | ${'dan@contoso.example'}                    | ${'relay'}      | ${undefined}              | ${'Internet'}               | ${'dan@elsewhere.example'}
    ${'remote mailbox, no connector covers the routing domain'}                 | ${ONPREM_NO_HYBRID}   | ${'alice@contoso.example'}                  | ${'unroutable'} | ${undefined}              | ${undefined}                | ${undefined}
    ${'proxy address pointing at a mailbox not here: not a mailbox'}            | ${ONPREM_HYBRID_ONLY} | ${'orphan@contoso.example'}                 | ${'refuse'}     | ${undefined}              | ${undefined}                | ${undefined}
    ${'proxy address of a remote mailbox is not followed to it'}                | ${ONPREM_HYBRID_ONLY} | ${'a.smith@contoso.example'}                | ${'refuse'}     | ${undefined}              | ${undefined}                | ${undefined}
  `('$case: $recipient → $kind $connector $retarget', ({ spec, recipient, kind, target, connector, retarget }) => {
    const ctx = nodeContext('onprem', spec, ORGS);
    const d = routeRecipient(ctx, recipient, ANONYMOUS);
    expect(d.outcome === 'refuse' ? 'refuse' : d.destination.kind).toBe(kind);
    if (d.outcome === 'refuse') {
      expect(d.reply).toMatchObject({ code: 550, enhanced: '5.1.1' });
      return;
    }
    const to = d.destination;
    if (to.kind === 'local') expect(to.mailbox).toBe(target);
    if (to.kind === 'relay') {
      expect(to.route.connector).toBe(connector);
      expect(to.retarget).toBe(retarget);
    }
    if (to.kind === 'unroutable') expect(to.reply).toEqual({ code: 550, enhanced: '5.4.4', text: 'SMTPSEND.DNS.NonExistentDomain; nonexistent domain' });
  });

  test('the retargeted relay carries the hybrid connector: smart host by DNS, DomainValidation, CloudServicesMailEnabled', () => {
    const d = routeRecipient(nodeContext('onprem', ONPREM, ORGS), 'alice@contoso.example', ANONYMOUS);
    expect(d).toMatchObject({
      outcome: 'accept',
      destination: {
        kind: 'relay',
        retarget: 'alice@contoso.mail.onmicrosoft.example',
        route: {
          kind: 'SendConnector',
          domains: ['contoso.mail.onmicrosoft.example'],
          smartHosts: [],
          cloudServicesMailEnabled: true,
          tls: { requirement: 'DomainValidation', tlsDomain: 'mail.protection.outlook.example' },
        },
      },
    });
    expect(d.reason).toBe(
      'alice@contoso.example is a remote mailbox; RemoteRoutingAddress alice@contoso.mail.onmicrosoft.example goes through Outbound to Office 365',
    );
  });

  test('retargeting does not depend on whether the session may relay', () => {
    const ctx = nodeContext('onprem', ONPREM, ORGS);
    expect(routeRecipient(ctx, 'alice@contoso.example', { allowed: true, reason: 'x' })).toEqual(
      routeRecipient(ctx, 'alice@contoso.example', { allowed: false, reason: 'y' }),
    );
  });

  test('unroutable remote mailbox names the RemoteRoutingAddress', () => {
    const d = routeRecipient(nodeContext('onprem', ONPREM_NO_HYBRID, ORGS), 'alice@contoso.example', ANONYMOUS);
    expect(d.reason).toBe('alice@contoso.example is a remote mailbox but no connector covers its RemoteRoutingAddress alice@contoso.mail.onmicrosoft.example');
  });

  test('proxy address delivery explains itself', () => {
    const d = routeRecipient(nodeContext('onprem', ONPREM, ORGS), 'Robert@Contoso.Example', ANONYMOUS);
    expect(d).toEqual({
      outcome: 'accept',
      destination: { kind: 'local', mailbox: 'bob@contoso.example' },
      reason: 'robert@contoso.example is a proxy address of mailbox bob@contoso.example on mail.contoso.example',
    });
  });

  test('an unknown recipient in an accepted domain is refused 5.1.1 even when a * send connector exists', () => {
    const d = routeRecipient(nodeContext('onprem', ONPREM, ORGS), 'carol@contoso.example', ANONYMOUS);
    expect(d.outcome).toBe('refuse');
  });
});
