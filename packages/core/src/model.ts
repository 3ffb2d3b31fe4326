/**
 * The topology as scenario authors write it. Connector objects keep Exchange's own parameter
 * names so that the output of Get-InboundConnector / Get-SendConnector can be pasted in.
 */

export type RoleName = 'exchange-online' | 'exchange-server' | 'edge' | 'partner' | 'internet' | 'appliance' | 'device' | 'passthrough';

export type TlsSettings = 'EncryptionOnly' | 'CertificateValidation' | 'DomainValidation';

export interface AuthoritySpec {
  commonName: string;
  /** Whether nodes trust this CA by default (a public CA). An untrusted CA models a private one. Roots only. */
  trusted?: boolean;
  /** Name of the authority that issued this one: an intermediate CA. Absent: a self-signed root. */
  issuer?: string;
}

export type Validity = 'valid' | 'expired' | 'not-yet-valid';

export interface CertificateSpec {
  subject: string;
  sans?: string[];
  /** Name of an authority, or `self` for a self-signed certificate. */
  issuer: string;
  validity?: Validity;
  revoked?: boolean;
}

export interface Organization {
  /** Accepted domains. */
  domains: string[];
  tenantId?: string;
}

/** Exchange Online inbound connector (New-InboundConnector). */
export interface InboundConnector {
  Name: string;
  ConnectorType: 'OnPremises' | 'Partner';
  Enabled?: boolean;
  SenderDomains?: string[];
  SenderIPAddresses?: string[];
  TlsSenderCertificateName?: string;
  RequireTls?: boolean;
  RestrictDomainsToCertificate?: boolean;
  RestrictDomainsToIPAddresses?: boolean;
  CloudServicesMailEnabled?: boolean;
  /** OnPremises connector matched by IP: treat its mail as internal anyway. */
  TreatMessagesAsInternal?: boolean;
  /** Enhanced filtering: IPs of the service in front of Exchange Online to look past in Received headers. */
  EFSkipIPs?: string[];
  /** Enhanced filtering: look past the last hop (the service in front). */
  EFSkipLastIP?: boolean;
}

/** Exchange Online outbound connector (New-OutboundConnector). */
export interface OutboundConnector {
  Name: string;
  ConnectorType?: 'OnPremises' | 'Partner';
  Enabled?: boolean;
  RecipientDomains?: string[];
  AllAcceptedDomains?: boolean;
  UseMXRecord?: boolean;
  SmartHosts?: string[];
  TlsSettings?: TlsSettings | null;
  TlsDomain?: string;
  IsTransportRuleScoped?: boolean;
  RouteAllMessagesViaOnPremises?: boolean;
  CloudServicesMailEnabled?: boolean;
}

/** On-premises receive connector (New-ReceiveConnector); also used for non-Exchange MTAs. */
export interface ReceiveConnector {
  Name: string;
  Enabled?: boolean;
  Bindings?: string[];
  RemoteIPRanges?: string[];
  TransportRole?: 'FrontendTransport' | 'HubTransport';
  PermissionGroups?: string[];
  AuthMechanism?: string[];
  RequireTLS?: boolean;
  TlsCertificateName?: string;
  TlsDomainCapabilities?: string[];
  Fqdn?: string;
  /**
   * Extended rights granted to NT AUTHORITY\ANONYMOUS LOGON on this connector
   * (Add-ADPermission -ExtendedRights), e.g. ms-Exch-SMTP-Accept-Any-Recipient for an anonymous relay.
   */
  ExtendedRights?: string[];
  // Limits; what is left out takes the role's defaults, which are Exchange's (roles.ts).
  /** Bytes, or a ByteQuantifiedSize such as `36 MB` or `36 MB (37,748,736 bytes)`. */
  MaxMessageSize?: number | string;
  MaxRecipientsPerMessage?: number;
  /** A count or `unlimited`. */
  MaxInboundConnection?: number | string;
  /** A count or `unlimited`. */
  MaxInboundConnectionPerSource?: number | string;
  /** A time span, `[d.]hh:mm:ss`: how long a session may last, even while data flows. */
  ConnectionTimeout?: string;
  /** A time span, `[d.]hh:mm:ss`: how long a client may stay silent; less than ConnectionTimeout. */
  ConnectionInactivityTimeout?: string;
}

/** On-premises send connector (New-SendConnector); also used for non-Exchange MTAs. */
export interface SendConnector {
  Name: string;
  Enabled?: boolean;
  AddressSpaces: string[];
  DNSRoutingEnabled?: boolean;
  SmartHosts?: string[];
  RequireTLS?: boolean;
  IgnoreSTARTTLS?: boolean;
  /** ExternalAuthoritative: the next hop is part of the organization (e.g. Edge to Mailbox), organization headers travel as they are. */
  SmartHostAuthMechanism?: 'None' | 'BasicAuth' | 'BasicAuthRequireTLS' | 'ExchangeServer' | 'ExternalAuthoritative';
  TlsAuthLevel?: TlsSettings | null;
  TlsDomain?: string;
  TlsCertificateName?: string;
  CloudServicesMailEnabled?: boolean;
  Fqdn?: string;
}

/** A mail flow rule (New-TransportRule), with the cmdlet's parameter names. */
export interface TransportRule {
  Name: string;
  Priority?: number;
  State?: 'Enabled' | 'Disabled';
  FromScope?: 'InOrganization' | 'NotInOrganization';
  /** Where sender conditions look: the From header (Exchange's default), the envelope, or either. */
  SenderAddressLocation?: 'Header' | 'Envelope' | 'HeaderOrEnvelope';
  SenderDomainIs?: string[];
  RecipientDomainIs?: string[];
  SenderIPRanges?: string[];
  HeaderContainsMessageHeader?: string;
  HeaderContainsWords?: string[];
  HeaderMatchesMessageHeader?: string;
  HeaderMatchesPatterns?: string[];
  ExceptIfFromScope?: 'InOrganization' | 'NotInOrganization';
  ExceptIfSenderDomainIs?: string[];
  ExceptIfRecipientDomainIs?: string[];
  ExceptIfSenderIPRanges?: string[];
  ExceptIfHeaderContainsMessageHeader?: string;
  ExceptIfHeaderContainsWords?: string[];
  ExceptIfHeaderMatchesMessageHeader?: string;
  ExceptIfHeaderMatchesPatterns?: string[];
  DeleteMessage?: boolean;
  RejectMessageReasonText?: string;
  RejectMessageEnhancedStatusCode?: string;
  SetSCL?: number;
  SetHeaderName?: string;
  SetHeaderValue?: string;
  RouteMessageOutboundConnector?: string;
  StopRuleProcessing?: boolean;
}

/** New-AddressRewriteEntry: `*.contoso.example` → `contoso.example`, or one address to another. */
export interface AddressRewriteEntry {
  Name?: string;
  InternalAddress: string;
  ExternalAddress: string;
  OutboundOnly?: boolean;
}

/** Set-HostedConnectionFilterPolicy (Exchange Online). */
export interface HostedConnectionFilterPolicy {
  IPAllowList?: string[];
}

/** Set-HostedContentFilterPolicy (Exchange Online anti-spam policy). */
export interface HostedContentFilterPolicy {
  AllowedSenders?: string[];
  AllowedSenderDomains?: string[];
  BlockedSenders?: string[];
  BlockedSenderDomains?: string[];
}

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** How a node speaks TLS, as a listener and as a client; Node's (and OpenSSL's) own option names. */
export interface NodeTls {
  /** `full`: the leaf and every intermediate (default). `leafOnly`: the intermediates left out, a common misconfiguration. */
  presentChain?: 'full' | 'leafOnly';
  minVersion?: TlsVersion;
  maxVersion?: TlsVersion;
  /** OpenSSL cipher list; TLS 1.0 and 1.1 need `DEFAULT@SECLEVEL=0` on both ends under OpenSSL 3. */
  ciphers?: string;
}

export interface NodeSpec {
  role: RoleName;
  /** Who plays the node: relaylab's own MTA (default), or a real Postfix that relaylab configures and runs. */
  implementation?: 'relaylab' | 'postfix';
  /** FQDN: EHLO name, A record, and what Received headers show. */
  hostname: string;
  /** 127.x.y.z address of its own. */
  address: string;
  port?: number;
  organization?: string;
  /** Name of a certificate in `certificates`. */
  certificate?: string;
  /** Whether the listener offers STARTTLS (default true when it has a certificate). */
  starttls?: boolean;
  /** The chain it presents and the TLS versions and ciphers it accepts, listening and sending. */
  tls?: NodeTls;
  mailboxes?: string[];
  /** Authorities this node trusts; defaults to every authority with `trusted` not false. */
  trust?: string[];
  inboundConnectors?: InboundConnector[];
  outboundConnectors?: OutboundConnector[];
  receiveConnectors?: ReceiveConnector[];
  sendConnectors?: SendConnector[];
  transportRules?: TransportRule[];
  hostedConnectionFilterPolicy?: HostedConnectionFilterPolicy;
  hostedContentFilterPolicy?: HostedContentFilterPolicy;
  /** On premises: mailboxes moved to the cloud, address → RemoteRoutingAddress (the categorizer retargets). */
  remoteMailboxes?: Record<string, string>;
  /** Extra addresses of local mailboxes, proxy address → mailbox. */
  proxyAddresses?: Record<string, string>;
  /** Set-TransportConfig: domains whose mail is domain-secured (mutual TLS) and so may be Partner. */
  transportConfig?: { TLSReceiveDomainSecureList?: string[] };
  /** Edge Transport address rewriting (New-AddressRewriteEntry), applied to mail leaving the organization. */
  addressRewriteEntries?: AddressRewriteEntry[];
  /** A device in the path that removes header fields (glob patterns, e.g. `X-MS-Exchange-*`) from what it relays. */
  stripHeaders?: string[];
  /** Set-TransportService timeouts this node runs with, `[d.]hh:mm:ss` (default: its role's). */
  transportService?: TransportService;
  /**
   * Role passthrough: the node it forwards every TCP connection to (a firewall or load balancer
   * that never speaks SMTP), keeping the client's source address.
   */
  forwardTo?: string;
}

export interface TransportService {
  /** How long a message may wait in a queue before its sender gets a delay DSN (Exchange Server: 04:00:00). */
  DelayNotificationTimeout?: string;
  /** How long a message is retried before it is returned with an NDR (Exchange Server: 2.00:00:00). */
  MessageExpirationTimeout?: string;
}

export interface MxRecord {
  exchange: string;
  preference: number;
}

export interface DnsSpec {
  mx?: Record<string, Array<string | MxRecord>>;
  a?: Record<string, string>;
}

export interface Topology {
  name?: string;
  authorities?: Record<string, AuthoritySpec>;
  certificates?: Record<string, CertificateSpec>;
  organizations?: Record<string, Organization>;
  nodes: Record<string, NodeSpec>;
  dns?: DnsSpec;
  /** `relaylab lint`: findings this topology shows on purpose (a lab of a pitfall), each with its reason. */
  lint?: { accept?: LintAcceptance[] };
}

/** One `relaylab lint` finding declared intended: its check id, narrowed to a node and connector when given. */
export interface LintAcceptance {
  check: string;
  node?: string;
  connector?: string;
  because: string;
}
