import { nodeContext, relayRights, type Classification, type InboundDecision, type NodeSpec, type Organization, type ReceiveConnector } from '@relaylab/core';

/** docs/exchange.md, "Tenant attribution in Exchange Online" and "On-premises receive connector": who may relay. */

const ORGANIZATIONS: Record<string, Organization> = { contoso: { domains: ['contoso.example'] } };
const EOP: NodeSpec = { role: 'exchange-online', hostname: 'contoso-com.mail.protection.outlook.example', address: '127.0.0.20', organization: 'contoso' };
const ONPREM: NodeSpec = { role: 'exchange-server', hostname: 'mail.contoso.example', address: '127.0.0.10', organization: 'contoso' };

const inbound = (connectorType?: InboundDecision['connectorType'], connector?: string): InboundDecision => ({
  connector,
  connectorType,
  verdict: { outcome: 'accept', reason: '' },
});

const DEFAULT_FRONTEND: ReceiveConnector = { Name: 'Default Frontend', PermissionGroups: ['AnonymousUsers'] };
const RELAY: ReceiveConnector = { Name: 'Anonymous relay', PermissionGroups: ['AnonymousUsers'], ExtendedRights: ['ms-Exch-SMTP-Accept-Any-Recipient'] };
const RIGHTS_WITHOUT_ANONYMOUS: ReceiveConnector = {
  Name: 'Rights only',
  PermissionGroups: ['ExchangeUsers'],
  ExtendedRights: ['ms-Exch-SMTP-Accept-Any-Recipient'],
};
const AUTHORITATIVE: ReceiveConnector = { Name: 'From EOP', AuthMechanism: ['Tls', 'ExternalAuthoritative'] };

const classified = (over: Partial<Classification>): Classification => ({
  authAs: 'Anonymous',
  authSource: 'x',
  directionality: 'Incoming',
  acceptCrossPremises: false,
  keepOrganizationHeaders: false,
  fromEntity: 'Internet',
  reason: 'the classification says why',
  ...over,
});

describe('relayRights', () => {
  test.each`
    case                                                           | node      | session                                                                                                  | allowed  | reason
    ${'Exchange Online: OnPremises connector'}                     | ${EOP}    | ${{ inbound: inbound('OnPremises', 'Inbound from 6f2a') }}                                               | ${true}  | ${'OnPremises connector Inbound from 6f2a'}
    ${'Exchange Online: Partner connector'}                        | ${EOP}    | ${{ inbound: inbound('Partner', 'Fabrikam') }}                                                           | ${false} | ${'Partner connector Fabrikam does not allow relay'}
    ${'Exchange Online: no connector'}                             | ${EOP}    | ${{ inbound: inbound() }}                                                                                | ${false} | ${'no OnPremises connector matched'}
    ${'Exchange Online: a trusted classification is not enough'}   | ${EOP}    | ${{ classification: classified({ acceptCrossPremises: true }) }}                                         | ${false} | ${'no OnPremises connector matched'}
    ${'on premises: hybrid certificate (AcceptCloudServicesMail)'} | ${ONPREM} | ${{ receiveConnector: DEFAULT_FRONTEND, classification: classified({ acceptCrossPremises: true }) }}     | ${true}  | ${'the classification says why'}
    ${'on premises: a server of the organization'}                 | ${ONPREM} | ${{ receiveConnector: DEFAULT_FRONTEND, classification: classified({ keepOrganizationHeaders: true }) }} | ${true}  | ${'the classification says why'}
    ${'on premises: ExternalAuthoritative, not classified'}        | ${ONPREM} | ${{ receiveConnector: AUTHORITATIVE }}                                                                   | ${true}  | ${'receive connector From EOP has AuthMechanism ExternalAuthoritative'}
    ${'on premises: anonymous relay connector'}                    | ${ONPREM} | ${{ receiveConnector: RELAY, classification: classified({}) }}                                           | ${true}  | ${'receive connector Anonymous relay grants ANONYMOUS LOGON ms-Exch-SMTP-Accept-Any-Recipient'}
    ${'on premises: the right without AnonymousUsers'}             | ${ONPREM} | ${{ receiveConnector: RIGHTS_WITHOUT_ANONYMOUS, classification: classified({}) }}                        | ${false} | ${'receive connector Rights only: the sender is anonymous and the connector grants no relay (ms-Exch-SMTP-Accept-Any-Recipient)'}
    ${'on premises: Default Frontend, anonymous'}                  | ${ONPREM} | ${{ receiveConnector: DEFAULT_FRONTEND, classification: classified({}) }}                                | ${false} | ${'receive connector Default Frontend: the sender is anonymous and the connector grants no relay (ms-Exch-SMTP-Accept-Any-Recipient)'}
    ${'on premises: no receive connector'}                         | ${ONPREM} | ${{}}                                                                                                    | ${false} | ${'receive connector (none): the sender is anonymous and the connector grants no relay (ms-Exch-SMTP-Accept-Any-Recipient)'}
  `('$case → allowed $allowed', ({ node, session, allowed, reason }) => {
    expect(relayRights(nodeContext('n', node, ORGANIZATIONS), session)).toEqual({ allowed, reason });
  });
});
