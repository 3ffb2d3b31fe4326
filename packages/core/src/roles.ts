import type { ReplyName } from './codes';
import type { NodeSpec, ReceiveConnector, RoleName } from './model';
import { parseTimeSpan, type ReceiveLimits } from './receive-limits';

/**
 * Role presets are data: what differs between Exchange Online, an Exchange server and a plain
 * MTA is which connector model applies, how Received headers look and which replies it gives.
 */
export interface RolePreset {
  /** Which Exchange parameter set the node's connectors use. */
  connectorModel: 'online' | 'server';
  receivedStyle: 'exchange' | 'postfix';
  /** Runs Exchange's transport pipeline: header firewall, classification stamps, mail flow rules. */
  exchange: boolean;
  /** Where mail goes that no connector claims: by MX, or nowhere (an Exchange server needs a send connector). */
  defaultRoute: 'mx' | 'none';
  recipientNotFound: ReplyName;
  relayDenied: ReplyName;
  /** Receive connectors a node of this role has when the topology lists none. */
  defaultReceiveConnectors: ReceiveConnector[];
  /** What a receive connector enforces when it does not say (and what Exchange Online's front door enforces). */
  receiveLimits: ReceiveLimits;
  retry: RetrySchedule;
}

/** Exchange Server defaults [doc] (DelayNotificationTimeout 4 hours); Exchange Online keeps retrying for 24 hours [doc], at intervals [lab]. */
export interface RetrySchedule {
  quickRetries: number;
  quickIntervalMs: number;
  intervalMs: number;
  expiryMs: number;
  /**
   * DelayNotificationTimeout: a message still queued this long after it arrived gets the sender one
   * delay DSN (`Action: delayed`). None: no delay notice (Postfix's delay_warning_time is off by default).
   */
  delayNotificationMs?: number;
  /**
   * Postfix's backoff: the first retry after quickIntervalMs (minimal_backoff_time), each later one
   * twice as long as the one before, never longer than intervalMs (maximal_backoff_time).
   */
  doubling?: boolean;
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const mailboxServerRetry: RetrySchedule = {
  quickRetries: 6,
  quickIntervalMs: 5 * MIN,
  intervalMs: 10 * MIN,
  expiryMs: 48 * HOUR,
  delayNotificationMs: 4 * HOUR,
};
// Edge: TransientFailureRetryInterval 10 minutes, OutboundConnectionFailureRetryInterval 30 minutes [doc].
const edgeRetry: RetrySchedule = { ...mailboxServerRetry, quickIntervalMs: 10 * MIN, intervalMs: 30 * MIN };
// Exchange Online's delay notice follows Exchange Server's 4 hours [lab].
const onlineRetry: RetrySchedule = { quickRetries: 0, quickIntervalMs: 15 * MIN, intervalMs: 15 * MIN, expiryMs: 24 * HOUR, delayNotificationMs: 4 * HOUR };
// Postfix defaults: minimal_backoff_time 300s, maximal_backoff_time 4000s, maximal_queue_lifetime 5d
const postfixRetry: RetrySchedule = { quickRetries: 0, quickIntervalMs: 5 * MIN, intervalMs: 4000_000, expiryMs: 5 * 24 * HOUR, doubling: true };

/**
 * New-ReceiveConnector's defaults [doc]: MaxMessageSize 36 MB, MaxRecipientsPerMessage 200,
 * MaxInboundConnection 5000, MaxInboundConnectionPerSource 20; on Mailbox servers
 * ConnectionTimeout 10 minutes and ConnectionInactivityTimeout 5 minutes, on Edge 5 and 1.
 * Exchange Online and the non-Exchange roles get the Mailbox server's values [lab].
 */
const mailboxServerLimits: ReceiveLimits = {
  maxMessageBytes: 36 * 1024 * 1024,
  maxRecipientsPerMessage: 200,
  maxInboundConnection: 5000,
  maxInboundConnectionPerSource: 20,
  connectionTimeoutMs: 10 * MIN,
  connectionInactivityTimeoutMs: 5 * MIN,
};
const edgeLimits: ReceiveLimits = { ...mailboxServerLimits, connectionTimeoutMs: 5 * MIN, connectionInactivityTimeoutMs: 1 * MIN };

export function retryDelay(schedule: RetrySchedule, attempts: number): number {
  if (schedule.doubling) return Math.min(schedule.quickIntervalMs * 2 ** Math.max(0, attempts - 1), schedule.intervalMs);
  return attempts <= schedule.quickRetries ? schedule.quickIntervalMs : schedule.intervalMs;
}

/**
 * The node's role preset with its Set-TransportService timeouts over the role's. Values are
 * validated when the topology is loaded; one that still cannot be read keeps the role's.
 */
export function presetFor(spec: NodeSpec): RolePreset {
  const preset = ROLE_PRESETS[spec.role];
  const t = spec.transportService;
  if (!t) return preset;
  const read = (v: string | undefined) => (v === undefined ? undefined : parseTimeSpan(v));
  const retry = { ...preset.retry };
  retry.delayNotificationMs = read(t.DelayNotificationTimeout) ?? retry.delayNotificationMs;
  retry.expiryMs = read(t.MessageExpirationTimeout) ?? retry.expiryMs;
  return { ...preset, retry };
}

const anonymousDefault = (name: string): ReceiveConnector => ({
  Name: name,
  Bindings: ['0.0.0.0:25'],
  RemoteIPRanges: ['0.0.0.0-255.255.255.255'],
  PermissionGroups: ['AnonymousUsers'],
  AuthMechanism: ['Tls'],
});

const plainMta: RolePreset = {
  connectorModel: 'server',
  receivedStyle: 'postfix',
  exchange: false,
  defaultRoute: 'mx',
  recipientNotFound: 'recipientNotFound',
  relayDenied: 'relayDenied',
  defaultReceiveConnectors: [anonymousDefault('smtpd')],
  receiveLimits: mailboxServerLimits,
  retry: postfixRetry,
};

export const ROLE_PRESETS: Record<RoleName, RolePreset> = {
  'exchange-online': {
    connectorModel: 'online',
    receivedStyle: 'exchange',
    exchange: true,
    defaultRoute: 'mx',
    recipientNotFound: 'recipientNotFoundOnline',
    relayDenied: 'tenantRelayDenied',
    defaultReceiveConnectors: [],
    receiveLimits: mailboxServerLimits,
    retry: onlineRetry,
  },
  'exchange-server': {
    connectorModel: 'server',
    receivedStyle: 'exchange',
    exchange: true,
    defaultRoute: 'none',
    recipientNotFound: 'recipientNotFound',
    relayDenied: 'relayDenied',
    defaultReceiveConnectors: [anonymousDefault('Default Frontend')],
    receiveLimits: mailboxServerLimits,
    retry: mailboxServerRetry,
  },
  edge: {
    connectorModel: 'server',
    receivedStyle: 'exchange',
    exchange: true,
    defaultRoute: 'none',
    recipientNotFound: 'recipientNotFound',
    relayDenied: 'relayDenied',
    defaultReceiveConnectors: [anonymousDefault('Default internal receive connector')],
    receiveLimits: edgeLimits,
    retry: edgeRetry,
  },
  partner: plainMta,
  internet: plainMta,
  appliance: plainMta,
  device: plainMta,
  // A TCP forwarder speaks no SMTP: it never uses a preset; a plain MTA's stands in for the type.
  passthrough: plainMta,
};
