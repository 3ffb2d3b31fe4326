import type { Classification } from './classify';
import type { InboundDecision } from './inbound';
import type { ReceiveConnector } from './model';
import type { NodeContext } from './routing';

/** Whether a session may send to domains this node is not authoritative for, and why. */
export interface RelayRights {
  allowed: boolean;
  reason: string;
}

/** What relay rights are decided from: all of it settled by MAIL FROM. */
export interface RelaySession {
  inbound?: InboundDecision;
  receiveConnector?: ReceiveConnector;
  classification?: Classification;
}

/**
 * Relay rights follow what matched: Exchange Online's OnPremises connector; on premises a sender
 * authenticated as a server of the organization (ExternalAuthoritative, or the hybrid certificate
 * granted AcceptCloudServicesMail), or an anonymous relay connector (ms-Exch-SMTP-Accept-Any-Recipient).
 */
export function relayRights(ctx: NodeContext, session: RelaySession): RelayRights {
  const { inbound, receiveConnector: connector, classification } = session;
  if (ctx.preset.connectorModel === 'online') {
    return inbound?.connectorType === 'OnPremises'
      ? { allowed: true, reason: `OnPremises connector ${inbound.connector}` }
      : {
          allowed: false,
          reason: inbound?.connector ? `${inbound.connectorType} connector ${inbound.connector} does not allow relay` : 'no OnPremises connector matched',
        };
  }
  if (classification && (classification.acceptCrossPremises || classification.keepOrganizationHeaders)) return { allowed: true, reason: classification.reason };
  if (connector?.AuthMechanism?.includes('ExternalAuthoritative'))
    return { allowed: true, reason: `receive connector ${connector.Name} has AuthMechanism ExternalAuthoritative` };
  if (connector?.PermissionGroups?.includes('AnonymousUsers') && connector.ExtendedRights?.includes('ms-Exch-SMTP-Accept-Any-Recipient')) {
    return { allowed: true, reason: `receive connector ${connector.Name} grants ANONYMOUS LOGON ms-Exch-SMTP-Accept-Any-Recipient` };
  }
  return {
    allowed: false,
    reason: `receive connector ${connector?.Name ?? '(none)'}: the sender is anonymous and the connector grants no relay (ms-Exch-SMTP-Accept-Any-Recipient)`,
  };
}
