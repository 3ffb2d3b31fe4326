import { subjectOrSanNames } from './certificate';
import { AUTH_MECHANISM, type AuthAs } from './exchange-headers';
import type { InboundDecision } from './inbound';
import type { InboundConnector, ReceiveConnector } from './model';
import { domainMatches, findMatchingName } from './names';
import type { NodeContext } from './routing';
import type { ChainCheck } from './trust';

/**
 * How a receiving Exchange node classifies a session, from what the wire showed: which connector
 * matched and how, and whether the peer's certificate earns hybrid trust.
 */
export interface Classification {
  authAs: AuthAs;
  authSource: string;
  authMechanism?: string;
  directionality: 'Incoming' | 'Originating';
  /** Promote X-MS-Exchange-CrossPremises-* to organization headers (hybrid partner authenticated). */
  acceptCrossPremises: boolean;
  /** Keep X-MS-Exchange-Organization-* as they arrived (another server of this organization). */
  keepOrganizationHeaders: boolean;
  fromEntity: 'Internet' | 'Hosted' | 'HybridOnPrem';
  reason: string;
  /** Enhanced filtering on the matched connector: look past these hops for the original client IP. */
  enhancedFiltering?: { skipIps: string[]; skipLast: boolean };
}

export interface ClassifyInput {
  ctx: NodeContext;
  inbound?: InboundDecision;
  receiveConnector?: ReceiveConnector;
  clientCertificate?: ChainCheck;
  secure: boolean;
  /** MAIL FROM domain: domain security (Partners) applies only to domains in TLSReceiveDomainSecureList. */
  senderDomain?: string;
}

const base = (ctx: NodeContext) => ({ authSource: ctx.spec.hostname, acceptCrossPremises: false, keepOrganizationHeaders: false });

export function classifySubmission(ctx: NodeContext): Classification {
  return {
    ...base(ctx),
    authAs: 'Internal',
    authMechanism: AUTH_MECHANISM.submission,
    directionality: 'Originating',
    // A user is not a server of the organization: what they wrote in organization headers goes (rule 2).
    fromEntity: 'Hosted',
    reason: `submitted by a user of ${ctx.spec.hostname}`,
  };
}

/** `mail.protection.outlook.com:AcceptCloudServicesMail` entries → the names granted that capability. */
function cloudServicesNames(connector: ReceiveConnector | undefined): string[] {
  return (connector?.TlsDomainCapabilities ?? [])
    .map((entry) => /^(.+?):(.+)$/.exec(entry.trim()))
    .flatMap((m) => (m && m[2]!.split(',').some((c) => /^AcceptCloudServicesMail$/i.test(c.trim())) ? [m[1]!] : []));
}

function classifyOnline(input: ClassifyInput): Classification {
  const { ctx, inbound } = input;
  const connector = (ctx.spec.inboundConnectors ?? []).find((c: InboundConnector) => c.Name === inbound?.connector);
  const filtering =
    connector && (connector.EFSkipIPs?.length || connector.EFSkipLastIP)
      ? { enhancedFiltering: { skipIps: connector.EFSkipIPs ?? [], skipLast: !!connector.EFSkipLastIP } }
      : {};
  if (inbound?.connectorType === 'OnPremises' && connector) {
    const byCertificate = inbound.matchedBy?.startsWith('certificate') ?? false;
    if (byCertificate && connector.CloudServicesMailEnabled) {
      return {
        ...base(ctx),
        authAs: 'Internal',
        authMechanism: AUTH_MECHANISM.certificate,
        directionality: 'Originating',
        acceptCrossPremises: true,
        fromEntity: 'HybridOnPrem',
        reason: `OnPremises connector ${connector.Name} matched by ${inbound.matchedBy} with CloudServicesMailEnabled: cross-premises headers are trusted`,
      };
    }
    const internal = !!connector.TreatMessagesAsInternal;
    return {
      ...base(ctx),
      authAs: internal ? 'Internal' : 'Anonymous',
      directionality: internal ? 'Originating' : 'Incoming',
      fromEntity: 'HybridOnPrem',
      reason: `OnPremises connector ${connector.Name} matched by ${inbound.matchedBy}${byCertificate ? ' without CloudServicesMailEnabled' : ''}; ${internal ? 'TreatMessagesAsInternal makes it internal' : 'not authenticated as the hybrid partner, so cross-premises headers are dropped'}`,
    };
  }
  if (inbound?.connectorType === 'Partner') {
    return {
      ...base(ctx),
      ...filtering,
      authAs: 'Partner',
      directionality: 'Incoming',
      fromEntity: 'Internet',
      reason: `Partner connector ${inbound.connector} matched by ${inbound.matchedBy}${'enhancedFiltering' in filtering ? ' (enhanced filtering)' : ''}`,
    };
  }
  return {
    ...base(ctx),
    authAs: 'Anonymous',
    directionality: 'Incoming',
    fromEntity: 'Internet',
    reason: 'no inbound connector matched: anonymous Internet mail',
  };
}

function classifyServer(input: ClassifyInput): Classification {
  const { ctx, receiveConnector: rc, clientCertificate: cert } = input;
  const names = cert?.valid ? subjectOrSanNames(cert.leaf) : [];
  const granted = cloudServicesNames(rc);
  const matched = granted.map((g) => findMatchingName(g, names)).find(Boolean);
  if (rc && matched) {
    return {
      ...base(ctx),
      authAs: 'Internal',
      authMechanism: AUTH_MECHANISM.certificate,
      directionality: 'Originating',
      acceptCrossPremises: true,
      fromEntity: 'HybridOnPrem',
      reason: `receive connector ${rc.Name} grants AcceptCloudServicesMail to ${matched} (TlsDomainCapabilities), presented and validated`,
    };
  }
  if (rc?.AuthMechanism?.includes('ExternalAuthoritative')) {
    return {
      ...base(ctx),
      authAs: 'Internal',
      authMechanism: AUTH_MECHANISM.externalAuthoritative,
      directionality: 'Originating',
      keepOrganizationHeaders: true,
      fromEntity: 'HybridOnPrem',
      reason: `receive connector ${rc.Name} has AuthMechanism ExternalAuthoritative: the sender is trusted as a server of this organization`,
    };
  }
  const secureDomains = ctx.spec.transportConfig?.TLSReceiveDomainSecureList ?? [];
  const domainSecured = !!input.senderDomain && secureDomains.some((d) => domainMatches(d, input.senderDomain!));
  if (rc?.PermissionGroups?.includes('Partners') && input.secure && cert?.valid && domainSecured) {
    return {
      ...base(ctx),
      authAs: 'Partner',
      directionality: 'Incoming',
      fromEntity: 'Internet',
      reason: `receive connector ${rc.Name} grants Partners; ${input.senderDomain} is in TLSReceiveDomainSecureList and the sender's certificate validated`,
    };
  }
  const why = granted.length
    ? `certificate ${names.join(', ') || (cert ? 'not trusted' : 'not presented')} is not granted AcceptCloudServicesMail (${granted.join(', ')})`
    : `receive connector ${rc?.Name ?? '(none)'} grants ${rc?.PermissionGroups?.join(', ') || 'nothing'}`;
  return { ...base(ctx), authAs: 'Anonymous', directionality: 'Incoming', fromEntity: 'Internet', reason: `anonymous: ${why}` };
}

export function classifySession(input: ClassifyInput): Classification {
  return input.ctx.preset.connectorModel === 'online' ? classifyOnline(input) : classifyServer(input);
}
