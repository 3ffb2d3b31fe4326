import { REPLIES } from './codes';
import type { ReceiveConnector } from './model';
import { accept, refuse, type Refused, type Verdict } from './verdict';

/**
 * A receive connector's limits (New-ReceiveConnector), resolved to numbers. What a connector
 * leaves out comes from its role's defaults (see roles.ts); `Infinity` is Exchange's `unlimited`.
 */
export interface ReceiveLimits {
  /** MaxMessageSize, bytes. */
  maxMessageBytes: number;
  maxRecipientsPerMessage: number;
  /** MaxInboundConnection: sessions the connector serves at once. */
  maxInboundConnection: number;
  /** MaxInboundConnectionPerSource: sessions from one IP address at once. */
  maxInboundConnectionPerSource: number;
  /** ConnectionTimeout: how long a session may last, however busy it is. */
  connectionTimeoutMs: number;
  /** ConnectionInactivityTimeout: how long a client may stay silent. */
  connectionInactivityTimeoutMs: number;
}

const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/**
 * Exchange's ByteQuantifiedSize as written or exported: `37748736`, `36 MB`, `64KB`, or
 * `36 MB (37,748,736 bytes)` (the exact count in parentheses wins). Undefined when unreadable.
 */
export function parseByteSize(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  const exact = /\(([\d,]+) bytes\)\s*$/i.exec(value);
  if (exact) return Number(exact[1]!.replace(/,/g, ''));
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB)?\s*$/i.exec(value);
  if (!m) return undefined;
  const unit = UNITS[(m[2] ?? 'B').toUpperCase()];
  if (unit === undefined) return undefined;
  const bytes = Number(m[1]) * unit;
  return Number.isFinite(bytes) ? Math.round(bytes) : undefined;
}

/** Exchange's EnhancedTimeSpan, `[d.]hh:mm:ss` (e.g. `00:05:00`, `1.00:00:00`), in milliseconds. */
export function parseTimeSpan(value: string): number | undefined {
  const m = /^\s*(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?\s*$/.exec(value);
  if (!m) return undefined;
  const [days, hours, minutes, seconds] = [m[1] ?? '0', m[2]!, m[3]!, m[4]!].map(Number) as [number, number, number, number];
  if (minutes > 59 || seconds > 59 || hours > 23) return undefined;
  const fraction = m[5] ? Number(`0.${m[5]}`) : 0;
  return (((days * 24 + hours) * 60 + minutes) * 60 + seconds + fraction) * 1000;
}

/** `unlimited` (any case) or a count. */
export function parseUnlimited(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value > 0 ? value : undefined;
  return /^\s*unlimited\s*$/i.test(value) ? Infinity : undefined;
}

/**
 * The connector's limits over the role's defaults. Values are validated when the topology is
 * loaded; one that still cannot be read keeps the default rather than turning a limit off.
 */
export function receiveLimits(defaults: ReceiveLimits, connector: ReceiveConnector | undefined): ReceiveLimits {
  const c = connector ?? { Name: '' };
  const pick = <T>(raw: T | undefined, parse: (v: T) => number | undefined, fallback: number) => (raw === undefined ? fallback : (parse(raw) ?? fallback));
  return {
    maxMessageBytes: pick(c.MaxMessageSize, parseByteSize, defaults.maxMessageBytes),
    maxRecipientsPerMessage: pick(c.MaxRecipientsPerMessage, (v) => (Number.isInteger(v) && v > 0 ? v : undefined), defaults.maxRecipientsPerMessage),
    maxInboundConnection: pick(c.MaxInboundConnection, parseUnlimited, defaults.maxInboundConnection),
    maxInboundConnectionPerSource: pick(c.MaxInboundConnectionPerSource, parseUnlimited, defaults.maxInboundConnectionPerSource),
    connectionTimeoutMs: pick(c.ConnectionTimeout, parseTimeSpan, defaults.connectionTimeoutMs),
    connectionInactivityTimeoutMs: pick(c.ConnectionInactivityTimeout, parseTimeSpan, defaults.connectionInactivityTimeoutMs),
  };
}

/** The limits that refuse a new session (421 at the greeting), in Exchange's parameter names. */
export type ConnectionCountLimit = 'MaxInboundConnection' | 'MaxInboundConnectionPerSource';
/** The limits that cut a session that lasts or idles too long. */
export type SessionTimeLimit = 'ConnectionTimeout' | 'ConnectionInactivityTimeout';

const onConnector = (connector: string | undefined) => (connector ? ` on receive connector ${connector}` : '');

/** MAIL FROM with SIZE=: a client that declares more than MaxMessageSize is refused before DATA. */
export function declaredSizeVerdict(limits: ReceiveLimits, declared: number): Verdict {
  const max = limits.maxMessageBytes;
  return declared > max
    ? refuse(REPLIES.messageTooLarge, `SIZE=${declared} is over MaxMessageSize ${max}`)
    : accept(`SIZE=${declared} is within MaxMessageSize ${max}`);
}

/** The end of DATA: the bytes that arrived against MaxMessageSize. */
export function messageSizeVerdict(limits: ReceiveLimits, received: number): Verdict {
  const max = limits.maxMessageBytes;
  return received > max
    ? refuse(REPLIES.messageTooLarge, `${received} bytes is over MaxMessageSize ${max}`)
    : accept(`${received} bytes is within MaxMessageSize ${max}`);
}

/** RCPT TO when `taken` recipients are in the transaction already: past MaxRecipientsPerMessage, 452. */
export function recipientCountVerdict(limits: ReceiveLimits, taken: number): Verdict {
  const max = limits.maxRecipientsPerMessage;
  return taken >= max
    ? refuse(REPLIES.tooManyRecipients, `MaxRecipientsPerMessage ${max}: recipients past it are refused for this transaction, the client sends them in another`)
    : accept(`recipient ${taken + 1} of at most ${max} (MaxRecipientsPerMessage)`);
}

/** A new session over MaxInboundConnection or MaxInboundConnectionPerSource: 421 at the greeting. */
export function connectionCountRefusal(limits: ReceiveLimits, over: ConnectionCountLimit, connector: string | undefined, clientIp: string): Refused {
  const n = over === 'MaxInboundConnection' ? limits.maxInboundConnection : limits.maxInboundConnectionPerSource;
  const scope = over === 'MaxInboundConnection' ? 'sessions' : `sessions from ${clientIp}`;
  return refuse(REPLIES.tooManyConnections, `${over} ${n}${onConnector(connector)}: ${n} ${scope} are open already`);
}

/** A session that lasted past ConnectionTimeout or stayed silent past ConnectionInactivityTimeout: 421, then closed. */
export function sessionCutRefusal(limit: SessionTimeLimit, ms: number, connector: string | undefined): Refused {
  return refuse(REPLIES.sessionTimedOut, `${limit} ${ms} ms${onConnector(connector)}: the session was cut`);
}
