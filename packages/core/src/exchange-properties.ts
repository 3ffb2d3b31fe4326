/**
 * The properties each Exchange cmdlet's output carries, from Microsoft's cmdlet documentation
 * (the New-/Set- parameters plus the read-only ones Get- adds). A topology object takes the
 * cmdlet's output as it is: `modelled` properties act in the lab, with the kind of value they
 * take; `notSimulated` ones are accepted, listed once, and have no effect. A name in neither is a
 * mistake. See docs/exchange.md, "What administrators export".
 */

/** How a value is read: see powershell-values.ts for the shapes each kind accepts. */
export type ValueKind =
  | 'boolean'
  | 'string'
  /** A name the cmdlet's enum takes; numbers (enums as Windows PowerShell 5.1 serialises some) are not read. */
  | 'enum'
  | 'integer'
  | 'stringList'
  /** Domains or address spaces: `smtp:fabrikam.example;1` reads as `fabrikam.example`. */
  | 'domainList'
  | 'size'
  | 'countOrUnlimited'
  | 'timeSpan'
  /** `<I>issuer<S>subject` or a host name. */
  | 'certificateName';

export interface CmdletProperties {
  /** The cmdlet whose output this is. */
  cmdlet: string;
  modelled: Readonly<Record<string, ValueKind>>;
  notSimulated: readonly string[];
}

/** What every Exchange configuration object carries, read-only, whichever cmdlet prints it. */
export const READ_ONLY_PROPERTIES: readonly string[] = [
  'Identity',
  'Id',
  'Guid',
  'ExchangeObjectId',
  'DistinguishedName',
  'ObjectCategory',
  'ObjectClass',
  'OrganizationId',
  'OriginatingServer',
  'ExchangeVersion',
  'WhenChanged',
  'WhenCreated',
  'WhenChangedUTC',
  'WhenCreatedUTC',
  'IsValid',
  'ObjectState',
  'AdminDisplayName',
  'Comment',
  // Added by PowerShell remoting (Exchange Management Shell, Exchange Online PowerShell).
  'PSComputerName',
  'PSShowComputerName',
  'RunspaceId',
];

const inboundConnector: CmdletProperties = {
  cmdlet: 'Get-InboundConnector',
  modelled: {
    Name: 'string',
    ConnectorType: 'enum',
    Enabled: 'boolean',
    SenderDomains: 'domainList',
    SenderIPAddresses: 'stringList',
    TlsSenderCertificateName: 'certificateName',
    RequireTls: 'boolean',
    RestrictDomainsToCertificate: 'boolean',
    RestrictDomainsToIPAddresses: 'boolean',
    CloudServicesMailEnabled: 'boolean',
    TreatMessagesAsInternal: 'boolean',
    EFSkipIPs: 'stringList',
    EFSkipLastIP: 'boolean',
  },
  notSimulated: [
    'AssociatedAcceptedDomains',
    'ConnectorSource',
    'EFSkipMailGateway',
    'EFTestMode',
    'EFUsers',
    'ScanAndDropRecipients',
    'TrustedOrganizations',
    'DetectSenderIPBySkippingLastIP',
    'DetectSenderIPBySkippingTheseIPs',
    'DetectSenderIPRecipientList',
    'ClientHostNames',
  ],
};

const outboundConnector: CmdletProperties = {
  cmdlet: 'Get-OutboundConnector',
  modelled: {
    Name: 'string',
    ConnectorType: 'enum',
    Enabled: 'boolean',
    RecipientDomains: 'domainList',
    AllAcceptedDomains: 'boolean',
    UseMXRecord: 'boolean',
    SmartHosts: 'stringList',
    TlsSettings: 'enum',
    TlsDomain: 'string',
    IsTransportRuleScoped: 'boolean',
    RouteAllMessagesViaOnPremises: 'boolean',
    CloudServicesMailEnabled: 'boolean',
  },
  notSimulated: [
    'ConnectorSource',
    'IsValidated',
    'LastValidationTimestamp',
    'ValidationRecipients',
    'LinkForModifiedConnector',
    'SenderRewritingEnabled',
    'TestMode',
  ],
};

const receiveConnector: CmdletProperties = {
  cmdlet: 'Get-ReceiveConnector',
  modelled: {
    Name: 'string',
    Enabled: 'boolean',
    Bindings: 'stringList',
    RemoteIPRanges: 'stringList',
    TransportRole: 'enum',
    PermissionGroups: 'stringList',
    AuthMechanism: 'stringList',
    RequireTLS: 'boolean',
    TlsCertificateName: 'certificateName',
    TlsDomainCapabilities: 'stringList',
    Fqdn: 'string',
    ExtendedRights: 'stringList',
    MaxMessageSize: 'size',
    MaxRecipientsPerMessage: 'integer',
    MaxInboundConnection: 'countOrUnlimited',
    MaxInboundConnectionPerSource: 'countOrUnlimited',
    ConnectionTimeout: 'timeSpan',
    ConnectionInactivityTimeout: 'timeSpan',
  },
  notSimulated: [
    'AdvertiseClientSettings',
    'Banner',
    'BareLinefeedRejectionEnabled',
    'BinaryMimeEnabled',
    'ChunkingEnabled',
    'DefaultDomain',
    'DeliveryStatusNotificationEnabled',
    'DomainController',
    'DomainSecureEnabled',
    'EightBitMimeEnabled',
    'EnableAuthGSSAPI',
    'EnhancedStatusCodesEnabled',
    'ExtendedProtectionPolicy',
    'LongAddressesEnabled',
    'MaxAcknowledgementDelay',
    'MaxHeaderSize',
    'MaxHopCount',
    'MaxInboundConnectionPercentagePerSource',
    'MaxLocalHopCount',
    'MaxLogonFailures',
    'MaxProtocolErrors',
    'MessageRateLimit',
    'MessageRateSource',
    'OrarEnabled',
    'PipeliningEnabled',
    'ProxyEnabled',
    'LiveCredentialEnabled',
    'ProtocolLoggingLevel',
    'RejectReservedSecondLevelRecipientDomains',
    'RejectReservedTopLevelRecipientDomains',
    'RejectSingleLabelRecipientDomains',
    'RequireEHLODomain',
    'Server',
    'ServiceDiscoveryFqdn',
    'SizeEnabled',
    'SmtpUtf8Enabled',
    'SuppressXAnonymousTls',
    'TarpitInterval',
    'TlsCertificateSyncInterval',
    'MaxRecipientsPerMessageAuthenticated',
    'ConnectorType',
    'Usage',
  ],
};

const sendConnector: CmdletProperties = {
  cmdlet: 'Get-SendConnector',
  modelled: {
    Name: 'string',
    Enabled: 'boolean',
    AddressSpaces: 'domainList',
    DNSRoutingEnabled: 'boolean',
    SmartHosts: 'stringList',
    RequireTLS: 'boolean',
    IgnoreSTARTTLS: 'boolean',
    SmartHostAuthMechanism: 'enum',
    TlsAuthLevel: 'enum',
    TlsDomain: 'string',
    TlsCertificateName: 'certificateName',
    CloudServicesMailEnabled: 'boolean',
    Fqdn: 'string',
  },
  notSimulated: [
    'AuthenticationCredential',
    'ConnectedDomains',
    'ConnectionInactivityTimeOut',
    'ConnectorType',
    'DomainSecureEnabled',
    'ErrorPolicies',
    'ForceHELO',
    'FrontendProxyEnabled',
    'HomeMTA',
    'HomeMtaServerId',
    'IsScopedConnector',
    'IsSmtpConnector',
    'LinkedReceiveConnector',
    'MaxMessageSize',
    'Port',
    'ProtocolLoggingLevel',
    'RequireOorg',
    'SmartHostsString',
    'SmtpMaxMessagesPerConnection',
    'SourceIPAddress',
    'SourceRoutingGroup',
    'SourceTransportServers',
    'TlsCertificateSyncInterval',
    'UseExternalDNSServersEnabled',
    'Usage',
    'Region',
  ],
};

/**
 * Get-TransportRule prints every condition and action parameter; those relaylab does not model
 * are listed here. A rule that uses one matches differently in Exchange than in the lab, which
 * `relaylab import` says (and imports the rule disabled).
 */
const transportRule: CmdletProperties = {
  cmdlet: 'Get-TransportRule',
  modelled: {
    Name: 'string',
    Priority: 'integer',
    State: 'enum',
    FromScope: 'enum',
    SenderAddressLocation: 'enum',
    SenderDomainIs: 'domainList',
    RecipientDomainIs: 'domainList',
    SenderIPRanges: 'stringList',
    HeaderContainsMessageHeader: 'string',
    HeaderContainsWords: 'stringList',
    HeaderMatchesMessageHeader: 'string',
    HeaderMatchesPatterns: 'stringList',
    ExceptIfFromScope: 'enum',
    ExceptIfSenderDomainIs: 'domainList',
    ExceptIfRecipientDomainIs: 'domainList',
    ExceptIfSenderIPRanges: 'stringList',
    ExceptIfHeaderContainsMessageHeader: 'string',
    ExceptIfHeaderContainsWords: 'stringList',
    ExceptIfHeaderMatchesMessageHeader: 'string',
    ExceptIfHeaderMatchesPatterns: 'stringList',
    DeleteMessage: 'boolean',
    RejectMessageReasonText: 'string',
    RejectMessageEnhancedStatusCode: 'string',
    SetSCL: 'integer',
    SetHeaderName: 'string',
    SetHeaderValue: 'string',
    RouteMessageOutboundConnector: 'string',
    StopRuleProcessing: 'boolean',
  },
  notSimulated: [
    // Read-only summaries and bookkeeping.
    'Conditions',
    'Actions',
    'Exceptions',
    'Description',
    'Comments',
    'RuleVersion',
    'Mode',
    'RuleErrorAction',
    'RuleSubType',
    'ManuallyModified',
    'ActivationDate',
    'ExpiryDate',
    'ImmutableId',
    'Size',
    'UseLegacyRegex',
    'DlpPolicy',
    'DlpPolicyId',
    'IsRuleConfigurationSupported',
    'RouteMessageOutboundRequireTls',
    'ApplyRightsProtectionCustomizationTemplate',
    // Conditions, exceptions and actions the lab does not evaluate.
    'From',
    'FromMemberOf',
    'SentTo',
    'SentToMemberOf',
    'SentToScope',
    'ExceptIfSentToScope',
    'ExceptIfFrom',
    'ExceptIfFromMemberOf',
    'ExceptIfSentTo',
    'ExceptIfSentToMemberOf',
    'FromAddressContainsWords',
    'FromAddressMatchesPatterns',
    'RecipientAddressContainsWords',
    'RecipientAddressMatchesPatterns',
    'SubjectContainsWords',
    'SubjectMatchesPatterns',
    'SubjectOrBodyContainsWords',
    'SubjectOrBodyMatchesPatterns',
    'ExceptIfSubjectContainsWords',
    'ExceptIfSubjectOrBodyContainsWords',
    'AttachmentExtensionMatchesWords',
    'AttachmentSizeOver',
    'AttachmentHasExecutableContent',
    'AttachmentIsUnsupported',
    'MessageSizeOver',
    'MessageTypeMatches',
    'SCLOver',
    'WithImportance',
    'HasClassification',
    'HasNoClassification',
    'AnyOfToHeader',
    'AnyOfCcHeader',
    'AnyOfToCcHeader',
    'AnyOfRecipientAddressContainsWords',
    'BetweenMemberOf1',
    'BetweenMemberOf2',
    'ManagerAddresses',
    'ManagerForEvaluatedUser',
    'SenderADAttributeContainsWords',
    'RecipientADAttributeContainsWords',
    'SenderManagementRelationship',
    'ADComparisonAttribute',
    'ADComparisonOperator',
    'ContentCharacterSetContainsWords',
    'HasSenderOverride',
    'MessageContainsDataClassifications',
    'SenderInRecipientList',
    'RecipientInSenderList',
    'PrependSubject',
    'SetAuditSeverity',
    'ApplyClassification',
    'ApplyHtmlDisclaimerLocation',
    'ApplyHtmlDisclaimerText',
    'ApplyHtmlDisclaimerFallbackAction',
    'ApplyRightsProtectionTemplate',
    'ApplyOME',
    'RemoveOME',
    'RemoveHeader',
    'AddToRecipients',
    'CopyTo',
    'BlindCopyTo',
    'AddManagerAsRecipientType',
    'ModerateMessageByUser',
    'ModerateMessageByManager',
    'RedirectMessageTo',
    'RejectMessageReasonTextOverride',
    'Quarantine',
    'SmtpRejectMessageRejectText',
    'SmtpRejectMessageRejectStatusCode',
    'LogEventText',
    'GenerateIncidentReport',
    'IncidentReportContent',
    'GenerateNotification',
    'NotifySender',
    'SenderNotificationType',
    'RouteMessageOutboundConnectorRequireTls',
  ],
};

/** Get-TransportRule's properties that describe a rule rather than make it match or act. */
export const TRANSPORT_RULE_BOOKKEEPING: readonly string[] = [
  'Conditions',
  'Actions',
  'Exceptions',
  'Description',
  'Comments',
  'RuleVersion',
  'Mode',
  'RuleErrorAction',
  'RuleSubType',
  'ManuallyModified',
  'ActivationDate',
  'ExpiryDate',
  'ImmutableId',
  'Size',
  'UseLegacyRegex',
  'DlpPolicy',
  'DlpPolicyId',
  'IsRuleConfigurationSupported',
];

const hostedConnectionFilterPolicy: CmdletProperties = {
  cmdlet: 'Get-HostedConnectionFilterPolicy',
  modelled: { IPAllowList: 'stringList' },
  notSimulated: ['Name', 'IPBlockList', 'EnableSafeList', 'DirectoryBasedEdgeBlockMode', 'IsDefault', 'ConnectionFilterPolicyId'],
};

const hostedContentFilterPolicy: CmdletProperties = {
  cmdlet: 'Get-HostedContentFilterPolicy',
  modelled: { AllowedSenders: 'stringList', AllowedSenderDomains: 'domainList', BlockedSenders: 'stringList', BlockedSenderDomains: 'domainList' },
  notSimulated: [
    'Name',
    'IsDefault',
    'SpamAction',
    'HighConfidenceSpamAction',
    'PhishSpamAction',
    'HighConfidencePhishAction',
    'BulkSpamAction',
    'BulkThreshold',
    'QuarantineRetentionPeriod',
    'MarkAsSpamBulkMail',
    'IncreaseScoreWithImageLinks',
    'IncreaseScoreWithNumericIps',
    'IncreaseScoreWithRedirectToOtherPort',
    'IncreaseScoreWithBizOrInfoUrls',
    'TestModeAction',
    'EnableEndUserSpamNotifications',
    'EnableLanguageBlockList',
    'LanguageBlockList',
    'EnableRegionBlockList',
    'RegionBlockList',
    'InlineSafetyTipsEnabled',
    'SpamZapEnabled',
    'PhishZapEnabled',
  ],
};

const addressRewriteEntry: CmdletProperties = {
  cmdlet: 'Get-AddressRewriteEntry',
  modelled: { Name: 'string', InternalAddress: 'string', ExternalAddress: 'string', OutboundOnly: 'boolean' },
  notSimulated: ['ExceptionList'],
};

/** Topology objects by the node field that holds them. */
export const TOPOLOGY_OBJECT_PROPERTIES = {
  inboundConnectors: inboundConnector,
  outboundConnectors: outboundConnector,
  receiveConnectors: receiveConnector,
  sendConnectors: sendConnector,
  transportRules: transportRule,
  addressRewriteEntries: addressRewriteEntry,
  hostedConnectionFilterPolicy,
  hostedContentFilterPolicy,
} as const satisfies Record<string, CmdletProperties>;

export type TopologyObjectField = keyof typeof TOPOLOGY_OBJECT_PROPERTIES;

/** Cmdlets whose output has no topology object of its own; `relaylab import` reads what it can from them. */
export const OTHER_CMDLET_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
  'Get-AcceptedDomain': ['Name', 'DomainName', 'DomainType', 'Default', 'AddressBookEnabled', 'MatchSubDomains', 'AuthenticationType', 'InitialDomain'],
  'Get-RemoteDomain': [
    'Name',
    'DomainName',
    'AllowedOOFType',
    'AutoReplyEnabled',
    'AutoForwardEnabled',
    'DeliveryReportEnabled',
    'NDREnabled',
    'TNEFEnabled',
    'ContentType',
    'CharacterSet',
    'TargetDeliveryDomain',
    'IsInternal',
    'TrustedMailOutboundEnabled',
    'TrustedMailInboundEnabled',
  ],
  'Get-ExchangeCertificate': [
    'Thumbprint',
    'Subject',
    'Issuer',
    'CertificateDomains',
    'NotBefore',
    'NotAfter',
    'Services',
    'Status',
    'IsSelfSigned',
    'FriendlyName',
    'SerialNumber',
    'HasPrivateKey',
    'PublicKeySize',
    'RootCAType',
  ],
  'Get-HybridConfiguration': [
    'Domains',
    'OnPremisesSmartHost',
    'TlsCertificateName',
    'SendingTransportServers',
    'ReceivingTransportServers',
    'EdgeTransportServers',
    'Features',
    'ClientAccessServers',
    'ExternalIPAddresses',
    'ServiceInstance',
  ],
};

/** Whether a property value says anything: exports print every property, most of them empty. */
export function hasValue(value: unknown): boolean {
  if (value === null || value === undefined || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'string') return value.trim().toLowerCase() !== '$null';
  return true;
}
