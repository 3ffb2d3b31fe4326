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
   * Sugar for `steps: [{ advance }]`; kept for runners that know no steps.
   */
  advanceMs?: number;
  /**
   * What happens, in order, after the messages no `send` step names were submitted. The runner
   * settles the lab once more after the last step.
   */
  steps?: Step[];
  expect: Expectation[];
}

export type FaultCommandName = 'EHLO' | 'STARTTLS' | 'MAIL' | 'RCPT' | 'DATA';

/** One scenario step. Faults are data: the lab carries them out on the wire. */
export type Step =
  /** Submit this message now (it is then not submitted up front). */
  | { kind: 'send'; message: string }
  /** Settle, move the lab clock, let every queue retry what is due, settle again. */
  | { kind: 'advance'; ms: number; text: string }
  /** Wait until no node is delivering and nothing is due. */
  | { kind: 'settle' }
  /** The node's listener closes (connection refused) and it delivers nothing; its queue and spool stay. */
  | { kind: 'down'; node: string }
  /** Back on the same address and port. */
  | { kind: 'up'; node: string }
  /** Every fault of the node switched off. */
  | { kind: 'heal'; node: string }
  /** The node answers the command with this reply (the next `times` times, default always). */
  | { kind: 'fail'; node: string; command: FaultCommandName; reply: string; times?: number }
  /** The node cuts the connection once the message data starts to arrive. */
  | { kind: 'dropDuringData'; node: string; times?: number }
  /** The node says yes to STARTTLS, then breaks the handshake. */
  | { kind: 'tlsHandshakeFails'; node: string; times?: number }
  /** A man in the middle between the two nodes removes STARTTLS from `to`'s EHLO reply. */
  | { kind: 'stripStartTls'; from: string; to: string }
  /** The node answers every command this many real milliseconds late. */
  | { kind: 'slow'; node: string; delayMs: number };

/** The DSN that must come back to the envelope sender of a message that failed. */
export interface NdrExpectation {
  /** Where the DSN must land (default the message's envelope sender). */
  mailbox?: string;
  /** The start of the reply the DSN reports (in its Diagnostic-Code and human part). */
  code?: string;
  /** The DSN's own fate (default delivered). */
  state?: FinalStateName;
  /** When the node sent it, on the lab clock from the message's submission. */
  at?: LabTime;
}

/**
 * When something happened on the lab clock, counted from the message's submission: a duration
 * (`24h`, which holds within LAB_TIME_TOLERANCE_MS of it: the lab clock also counts the real
 * time the lab takes to work) or an inclusive window (`{ after: 20h, before: 25h }`).
 */
export type LabTime = string | { after?: string; before?: string };

/** The delay DSN (Action: delayed) a still-queued message earns its sender; false: none was sent. */
export type DelayNoticeExpectation = boolean | { at?: LabTime; mailbox?: string; state?: FinalStateName };

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

export type FinalStateName = 'delivered' | 'rejected' | 'deferred' | 'bounced' | 'deleted' | 'handedOff';

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
  /** The connector that matched on the receiving node (inbound or receive connector); `none`: no connector matched. */
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
  /** A regular expression the receiver's reply to the end of DATA must match, as the sender read it. */
  replyMatches?: string;
  /** The pass-through devices (role passthrough) the hop's connection crossed, in order; [] for none. */
  via?: string[];
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
  /** No value of the header equals this. */
  notEquals?: string;
  /** The header occurs exactly this many times. */
  count?: number;
  /**
   * Narrows `equals` and `matches` to the value at this position: 0 is the topmost field (the
   * last one prepended), -1 the bottom one.
   */
  index?: number;
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
  /** For handedOff: the host outside the lab it left for (an MX or smart host no lab node serves). */
  host?: string;
  /** For deleted: the mail flow rule that deleted it. */
  rule?: string;
  /** For rejected/deferred/bounced: the start of the SMTP reply, e.g. `450 4.7.320`. */
  code?: string;
  /** For rejected/deferred: the node that refused or holds the message. */
  node?: string;
  /** For rejected/bounced: the DSN the envelope sender gets back. */
  ndr?: NdrExpectation;
  /** When it reached its state on the lab clock (for deferred: its last deferral), from its submission. */
  at?: LabTime;
  /** Delivery attempts that failed temporarily on the way (deferrals at any node). */
  retries?: number;
  delayNotice?: DelayNoticeExpectation;
  path?: string[];
  hops?: HopExpectation[];
  headers?: HeaderExpectation[];
  unchanged?: UnchangedExpectation[];
  /** For delivered: the body bytes the mailbox holds are (or are not) the ones submitted, by SHA-256. */
  body?: { unchanged: boolean };
  /** For delivered: a regular expression (multiline) the stored body, read as UTF-8, must match. */
  bodyMatches?: string;
  /** For delivered: the submitted header fields end the stored header section as written (only fields prepended above them). */
  headersIntact?: boolean;
}
