import type { Topology } from '@relaylab/core';

/** A scenario file after validation. `topology` is already loaded (inline or from its file). */
export interface Scenario {
  /** Path of the scenario file. */
  file: string;
  name: string;
  description?: string;
  topology: Topology;
  /** Path of the topology file when it came from one, for messages. */
  topologyFile?: string;
  messages: MessageSpec[];
  /**
   * Once the lab has settled, move the lab clock this far (ms) and let every queue retry what is
   * then due: a deferred message past its role's expiry bounces with Exchange's NDR code.
   */
  advanceMs?: number;
  expect: Expectation[];
}

export interface MessageSpec {
  id: string;
  /** Envelope sender (MAIL FROM) and, unless `raw` is given, the From header. */
  from: string;
  /** Envelope recipients. */
  to: string[];
  /** The node that submits the message, as a user of that node would. */
  via: string;
  subject?: string;
  headers?: Record<string, string>;
  body?: string;
  /** A whole RFC 5322 message used byte for byte instead of subject/headers/body. */
  raw?: string;
}

export type FinalStateName = 'delivered' | 'rejected' | 'deferred' | 'bounced' | 'deleted';

export interface HopExpectation {
  from?: string;
  to?: string;
  /** Negotiated protocol as Node names it (`TLSv1.3`, `TLSv1.2`) or `none` for plaintext. */
  tls?: string;
  /** Whether the sending node verified the receiver's certificate chain. */
  certificateVerified?: boolean;
  /** A name of the receiver's certificate that was verified (SAN or CN). */
  certificateName?: string;
  /** The connector the sending node chose. */
  outboundConnector?: string;
  /** The connector that matched on the receiving node (inbound or receive connector). */
  inboundConnector?: string;
  /** How the receiving (Exchange) node classified the message: X-MS-Exchange-Organization-AuthAs. */
  authAs?: 'Anonymous' | 'Partner' | 'Internal';
  /** X-MS-Exchange-Organization-MessageDirectionality at the receiving node. */
  directionality?: 'Incoming' | 'Originating';
  /** The receiving node trusted the sender's X-MS-Exchange-CrossPremises-* headers. */
  crossPremises?: boolean;
  /** Anti-spam verdict at the receiving node (Exchange Online): SFV, SCL, IPV. */
  sfv?: string;
  scl?: number;
  ipv?: string;
  /** Names of the mail flow rules that fired at the receiving node, in order. */
  rules?: string[];
}

/** Header fields that must arrive at one node exactly as they arrived at another (or at the mailbox). */
export interface UnchangedExpectation {
  headers: string[];
  from: string;
  /** A node name, or omitted for the mailbox the message was delivered to. */
  to?: string;
}

export interface HeaderExpectation {
  name: string;
  present?: boolean;
  absent?: boolean;
  equals?: string;
  /** A regular expression, tested against each value of the header. */
  matches?: string;
}

export interface Expectation {
  message: string;
  /** The recipient this expectation is about; default every recipient of the message. */
  recipient?: string;
  state: FinalStateName;
  /** For delivered: the mailbox it landed in (default the recipient). */
  mailbox?: string;
  /** For delivered: the mailbox folder (`Inbox` or `Junk Email`). */
  folder?: string;
  /** For deleted: the mail flow rule that deleted it. */
  rule?: string;
  /** For rejected/deferred/bounced: the start of the SMTP reply, e.g. `450 4.7.320`. */
  code?: string;
  /** For rejected/deferred: the node that refused or holds the message. */
  node?: string;
  path?: string[];
  hops?: HopExpectation[];
  headers?: HeaderExpectation[];
  unchanged?: UnchangedExpectation[];
}
