import type { CertificateInfo } from './certificate';

/** Trace events: structured facts per hop that assertions and reports consume (logs are not traces). */

export interface Endpoint {
  ip: string;
  port: number;
}

export interface TlsSummary {
  starttlsOffered: boolean;
  secure: boolean;
  protocol?: string;
  cipher?: string;
  handshakeError?: string;
  peerCertificate?: Pick<CertificateInfo, 'subject' | 'sans' | 'issuer' | 'serial' | 'notAfter'>;
  localCertificate?: Pick<CertificateInfo, 'subject' | 'sans' | 'issuer' | 'serial' | 'notAfter'>;
}

interface Base {
  /** Lab time: the virtual clock that retries, expiries and certificates read. */
  at: string;
  /** Real (wall-clock) time, when the emitter recorded it: lab time jumps, this does not. */
  realAt?: string;
  node: string;
}

/** How an Exchange node treated a message: classification, rules, anti-spam. */
export interface ClassificationSummary {
  authAs?: string;
  authSource?: string;
  authMechanism?: string;
  directionality?: string;
  acceptCrossPremises?: boolean;
  reason: string;
  rules: Array<{ rule: string; actions: string[] }>;
  antispam?: { sfv: string; scl: number; ipv: string; cat: string; dir: string; reason: string };
  scl?: number;
}

export interface SubmittedEvent extends Base {
  type: 'submitted';
  messageId: string;
  from: string;
  to: string[];
  classification?: ClassificationSummary;
  /** Header fields as the user submitted them, before this node's edits. */
  headersIn: Array<{ name: string; value: string }>;
  /** SHA-256 of the body bytes as submitted (bodySha256), for `body: { unchanged: true }`. */
  bodySha256?: string;
}

/** The categorizer changed an envelope recipient (a remote mailbox's RemoteRoutingAddress). */
export interface RetargetedEvent extends Base {
  type: 'retargeted';
  messageId: string;
  recipient: string;
  to: string;
  reason: string;
}

/** A mail flow rule deleted the message: a deliberate final state. */
export interface DeletedEvent extends Base {
  type: 'deleted';
  messageId: string;
  recipients: string[];
  rule: string;
  reason: string;
}

/** The receiving side accepted a message over SMTP. */
export interface ReceivedEvent extends Base {
  type: 'received';
  sessionId: string;
  messageId: string;
  from: string;
  to: string[];
  local: Endpoint;
  remote: Endpoint;
  ehlo: string;
  tls: TlsSummary;
  /** Client certificate chain checked by this node. */
  clientCertificateVerified?: boolean;
  clientCertificateProblems?: string[];
  connector?: string;
  connectorType?: string;
  connectorMatchedBy?: string;
  reason: string;
  replies: string[];
  classification?: ClassificationSummary;
  /** Header fields as they arrived, before this node's edits. */
  headersIn: Array<{ name: string; value: string }>;
  /** SHA-256 of the body bytes as they arrived, to show the hop where a body changed. */
  bodySha256?: string;
}

/** The receiving side refused a command. */
export interface RefusedEvent extends Base {
  type: 'refused';
  sessionId: string;
  /** SESSION: no command, the session itself was cut (ConnectionTimeout, ConnectionInactivityTimeout). */
  command: 'CONNECT' | 'MAIL FROM' | 'RCPT TO' | 'DATA' | 'SESSION';
  from?: string;
  recipient?: string;
  remote: Endpoint;
  reply: string;
  reason: string;
}

export interface HeaderEditEvent extends Base {
  type: 'header';
  messageId: string;
  op: 'prepend' | 'remove';
  name: string;
  value?: string;
  reason: string;
}

/** The sending side tried one delivery over one connection. */
export interface AttemptEvent extends Base {
  type: 'attempt';
  messageId: string;
  recipients: string[];
  /** Recipients the next hop took (the rest were refused or deferred at RCPT or after DATA). */
  accepted: string[];
  connector: string;
  connectorKind: string;
  destination: { host: string; ip: string; port: number };
  local: Endpoint;
  connectionId: string;
  /** Messages this connection carried before this one. */
  reusedConnection: number;
  tls: TlsSummary;
  tlsRequirement: string;
  tlsDecision: string;
  certificateVerified?: boolean;
  certificateProblems?: string[];
  verifiedName?: string;
  outcome: 'sent' | 'refused' | 'deferred';
  replies: string[];
}

export interface DeliveredEvent extends Base {
  type: 'delivered';
  messageId: string;
  recipient: string;
  mailbox: string;
  folder: string;
}

export interface FinalFailureEvent extends Base {
  type: 'rejected' | 'bounced' | 'deferred';
  messageId: string;
  recipients: string[];
  reply: string;
  reason: string;
  /** For rejected: the node whose reply refused the message. */
  by?: string;
  nextAttempt?: string;
  /** For rejected/bounced: the Message-ID of the DSN sent back to the envelope sender, or why none was sent. */
  dsn?: string;
  noDsn?: string;
}

/**
 * The next hop is a host no lab node serves (an MX or smart host outside the lab): the lab's part
 * ends here, a final state of its own. Nothing is sent: the lab never connects beyond its nodes.
 */
export interface HandedOffEvent extends Base {
  type: 'handedOff';
  messageId: string;
  recipients: string[];
  connector: string;
  /** The host the message would go to, in preference order the first one, and its address if it has one. */
  host: string;
  ip?: string;
  reason: string;
}

/**
 * A pass-through device (role passthrough) forwarded one TCP connection: no SMTP seen, only the
 * two connections it joined, so a hop can be followed through it to the node behind.
 */
export interface ForwardedEvent extends Base {
  type: 'forwarded';
  /** The connecting client, as the device saw it. */
  client: Endpoint;
  /** The device's own connection onward: its local end (the client's address kept) and where it went. */
  local: Endpoint;
  target: Endpoint;
  /** The node behind the target address. */
  to: string;
}

/** A node sent a delivery status notification (RFC 3464) back to the envelope sender. */
export interface DsnEvent extends Base {
  type: 'dsn';
  /** The message the DSN reports on. */
  messageId: string;
  dsnMessageId: string;
  /** The envelope sender it goes to (the DSN's only recipient); its own MAIL FROM is <>. */
  to: string;
  recipients: string[];
  reply: string;
  /** `delayed`: a delay notice (the message is still queued at DelayNotificationTimeout); otherwise an NDR. */
  action?: 'delayed';
}

/** Every fault the lab can cause or lift, as steps, the control API and fault events name them. */
export const FAULT_KINDS = ['down', 'up', 'fail', 'dropDuringData', 'tlsHandshakeFails', 'stripStartTls', 'slow', 'heal'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The lab broke something on purpose (scenario step), or a fault it set up acted on a connection. */
export interface FaultEvent extends Base {
  type: 'fault';
  fault: FaultKind;
  /** What was done, in words: "stripped STARTTLS from the EHLO reply of mx.b.example to 127.0.0.150". */
  detail: string;
  /** Set when the fault acted on one SMTP session rather than being configured. */
  sessionId?: string;
}

/** A node came up on a spool that held messages and took them back into its queue. */
export interface RestoredEvent extends Base {
  type: 'restored';
  messageId: string;
  recipients: string[];
  spoolFile: string;
}

export type TraceEvent =
  | SubmittedEvent
  | ReceivedEvent
  | RefusedEvent
  | HeaderEditEvent
  | AttemptEvent
  | DeliveredEvent
  | HandedOffEvent
  | ForwardedEvent
  | FinalFailureEvent
  | RetargetedEvent
  | DeletedEvent
  | DsnEvent
  | FaultEvent
  | RestoredEvent;

/** Where nodes write events: in memory for embedded labs, a JSON-lines stream across processes. */
export interface TraceSink {
  emit(event: TraceEvent): void;
}

export class MemoryTrace implements TraceSink {
  readonly events: TraceEvent[] = [];
  emit(event: TraceEvent): void {
    // Emitters that know only the lab time (fault steps, other implementations) get the real time here.
    this.events.push(event.realAt ? event : { ...event, realAt: new Date().toISOString() });
  }
}
