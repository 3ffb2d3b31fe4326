import type { ChainCheck, NodeSpec, Organization, ReceiveConnector } from '@relaylab/core';

/**
 * The hybrid organization the core pipeline tests share: Contoso's Exchange Online tenant (EOP)
 * with the connectors the Hybrid Configuration Wizard makes, its on-premises server with the
 * Default Frontend and Edge receive connectors, and certificate checks as the listener reports them.
 */

export const EOP_IP = '127.0.0.20';

export const ORGS: Record<string, Organization> = {
  contoso: { domains: ['contoso.example', 'contoso.mail.onmicrosoft.example'] },
  woodgrove: { domains: ['woodgrove.example'] },
};

export const EOP: NodeSpec = {
  role: 'exchange-online',
  hostname: 'contoso-com.mail.protection.outlook.example',
  address: EOP_IP,
  organization: 'contoso',
  inboundConnectors: [
    { Name: 'Inbound from 6f2a', ConnectorType: 'OnPremises', TlsSenderCertificateName: 'mail.contoso.example', CloudServicesMailEnabled: true },
  ],
  outboundConnectors: [
    {
      Name: 'Outbound to 6f2a',
      ConnectorType: 'OnPremises',
      RecipientDomains: ['contoso.example'],
      SmartHosts: ['mail.contoso.example'],
      TlsSettings: 'DomainValidation',
      TlsDomain: 'mail.contoso.example',
      CloudServicesMailEnabled: true,
    },
  ],
};

export const DEFAULT_FRONTEND: ReceiveConnector = {
  Name: 'Default Frontend MAIL',
  RemoteIPRanges: ['0.0.0.0-255.255.255.255'],
  PermissionGroups: ['AnonymousUsers', 'ExchangeServers'],
  AuthMechanism: ['Tls'],
  TlsDomainCapabilities: ['mail.protection.outlook.example:AcceptCloudServicesMail'],
};
export const FROM_EDGE: ReceiveConnector = {
  Name: 'From Edge',
  RemoteIPRanges: ['127.0.0.11'],
  PermissionGroups: ['ExchangeServers'],
  AuthMechanism: ['Tls', 'ExternalAuthoritative'],
};

export const ONPREM: NodeSpec = {
  role: 'exchange-server',
  hostname: 'mail.contoso.example',
  address: '127.0.0.10',
  organization: 'contoso',
  receiveConnectors: [DEFAULT_FRONTEND, FROM_EDGE],
  sendConnectors: [
    {
      Name: 'Outbound to Office 365',
      AddressSpaces: ['smtp:contoso.mail.onmicrosoft.example;1'],
      RequireTLS: true,
      TlsAuthLevel: 'DomainValidation',
      TlsDomain: 'mail.protection.outlook.example',
      CloudServicesMailEnabled: true,
    },
    { Name: 'Internet', AddressSpaces: ['SMTP:*;1'] },
  ],
};

export function chain(commonName: string, sans: string[], valid = true): ChainCheck {
  return {
    valid,
    chainsToTrustedRoot: valid,
    leaf: {
      subject: `CN=${commonName}`,
      commonName,
      sans,
      issuer: 'CN=Relaylab Public Root CA',
      serial: '01',
      notBefore: '2025-01-01T00:00:00.000Z',
      notAfter: '2027-01-01T00:00:00.000Z',
      fingerprint256: 'AA',
      selfIssued: false,
    },
    path: [],
    problems: valid ? [] : ['not trusted'],
  };
}
export const EOP_CERT = chain('mail.protection.outlook.example', ['mail.protection.outlook.example', '*.mail.protection.outlook.example']);
export const ONPREM_CERT = chain('mail.contoso.example', ['mail.contoso.example']);
