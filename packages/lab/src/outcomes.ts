import type { AttemptEvent, ClassificationSummary, ReceivedEvent, TraceEvent } from '@relaylab/core';
import { describeTimes, formatLabOffset } from './lab-offset';
import { lookupIn, type Trace, type TraceLookup } from './trace-index';

/** What happened to one recipient of one message, read back from the trace. */
export interface Hop {
  from: string;
  to: string;
  tls: string;
  cipher?: string;
  certificateVerified?: boolean;
  certificateName?: string;
  certificateProblems?: string[];
  outboundConnector: string;
  inboundConnector?: string;
  tlsDecision: string;
  inboundReason?: string;
  reusedConnection: number;
  /** The receiver's last reply on this hop as the sender read it (the 250 after DATA). */
  reply?: string;
  serverCertificate?: string;
  clientCertificate?: string;
  /** What the receiving node made of the message (Exchange nodes only). */
  classification?: ClassificationSummary;
  /** Pass-through devices (role passthrough) the connection crossed: TCP forwarders, not SMTP hops. */
  via?: string[];
}

export interface Fate {
  state: 'delivered' | 'rejected' | 'deferred' | 'bounced' | 'deleted' | 'handedOff' | 'unaccounted';
  node?: string;
  /** For handedOff: the host outside the lab the message left for (and why, in `reason`). */
  handedOffTo?: string;
  mailbox?: string;
  folder?: string;
  rule?: string;
  /** Addresses the recipient had on the way (a remote mailbox is retargeted to its routing address). */
  addresses: string[];
  /** How the submitting node classified it, when that node runs Exchange. */
  submission?: ClassificationSummary;
  reply?: string;
  reason?: string;
  /**
   * For rejected/bounced: the NDR (an RFC 3464 DSN) sent back to the envelope sender. The fate
   * names its Message-ID; the judge follows it once the lab has settled (accounting.ndrFate).
   */
  ndr?: NdrFate;
  /** For rejected/bounced: why no NDR was sent (a null sender, a rule that deleted silently, …). */
  noNdr?: string;
  /** Lab time the message was submitted, and the lab time of the event that gave it its state (for deferred: the last deferral). */
  submittedAt?: string;
  at?: string;
  /** The real (wall-clock) time of that event. */
  realAt?: string;
  /** Lab time the node sent the NDR. */
  ndrAt?: string;
  /** Delivery attempts that failed temporarily on the way (deferred events, at any node). */
  retries: number;
  /** The delay DSNs (Action: delayed) sent to the envelope sender while the message was queued: one at most. */
  delayNotices: DelayNotice[];
  /**
   * For delivered: the header section of the copy the mailbox holds, one latin1 character per
   * byte, read by the runner while the lab was up. Header expectations read these bytes (with the
   * same lenient parse the nodes use), never the trace, so a report cannot disagree with the mailbox.
   */
  storedHeaders?: string;
  /** Every final event seen: more than one delivery is a duplicate. */
  deliveries: number;
  /** Every final event seen for this recipient, in order: more than one breaks "exactly one state". */
  finalStates: string[];
  path: string[];
  hops: Hop[];
  /** Attempts that did not hand the message over, for failure context. */
  failedAttempts: AttemptEvent[];
}

/** A delay DSN a node sent for a message it still held; the judge follows it as it follows the NDR. */
export interface DelayNotice {
  messageId: string;
  node: string;
  at: string;
  /** The envelope sender it went to. */
  to: string;
  /** Its own fate, once followed. */
  state?: Fate['state'];
  mailbox?: string;
}

/** The DSN for a failed message: its own fate and what it reported. */
export interface NdrFate {
  messageId: string;
  state: Fate['state'];
  node?: string;
  mailbox?: string;
  /** Its MAIL FROM: the null sender (empty) for a proper DSN. */
  sender?: string;
  /** The delivered copy is a multipart/report; report-type=delivery-status. */
  multipartReport: boolean;
  /** Each recipient's Diagnostic-Code reply, and the replies quoted in the human part. */
  diagnosticCodes: string[];
  humanReplies: string[];
  story: string[];
}

type NodeAt = (ip: string, port: number) => string | undefined;

/** An NDR known by its Message-ID only: the trace has not been followed to it yet. */
const unfollowedNdr = (messageId: string): NdrFate => ({
  messageId,
  state: 'unaccounted',
  multipartReport: false,
  diagnosticCodes: [],
  humanReplies: [],
  story: [],
});

const includes = (list: string[], rcpt: string | string[]) => {
  const wanted = (Array.isArray(rcpt) ? rcpt : [rcpt]).map((r) => r.toLowerCase());
  return list.some((r) => wanted.includes(r.toLowerCase()));
};

function certLabel(c: AttemptEvent['tls']['peerCertificate']): string | undefined {
  return c ? `${c.subject}${c.sans.length ? ` (SAN ${c.sans.join(', ')})` : ''}, issuer ${c.issuer}` : undefined;
}

function hopOf(attempt: AttemptEvent, to: string, received: ReceivedEvent | undefined): Hop {
  return {
    from: attempt.node,
    to,
    tls: attempt.tls.secure ? (attempt.tls.protocol ?? 'TLS') : 'none',
    cipher: attempt.tls.cipher,
    certificateVerified: attempt.tls.secure ? (attempt.certificateVerified ?? false) : undefined,
    certificateName: attempt.verifiedName,
    certificateProblems: attempt.certificateProblems,
    outboundConnector: attempt.connector,
    inboundConnector: received?.connector,
    tlsDecision: attempt.tlsDecision,
    inboundReason: received?.reason,
    reusedConnection: attempt.reusedConnection,
    reply: attempt.replies.at(-1),
    serverCertificate: certLabel(attempt.tls.peerCertificate),
    clientCertificate: certLabel(attempt.tls.localCertificate),
    classification: received?.classification,
  };
}

/**
 * The logical hop behind pass-through devices: a device (role passthrough) forwards the sender's
 * connection from the sender's own address, and its `forwarded` event joins the two connections,
 * so the hop is the sender's to the node behind, with the devices it crossed in `via`.
 */
function throughPassThroughs(trace: TraceLookup, to: string, local: { ip: string; port: number }) {
  const via: string[] = [];
  for (let depth = 0; depth < 8; depth++) {
    const link = trace.forwarded(to, local);
    if (!link) break;
    via.push(to);
    to = link.to;
    local = link.local;
  }
  return { to, local, via };
}

/** Pass the trace indexed (TraceIndex) when following many messages through one trace. */
export function fateOf(events: Trace, messageId: string, recipient: string, nodeAt: NodeAt): Fate {
  const trace = lookupIn(events);
  const mine = trace.of(messageId);
  const addresses = [recipient.toLowerCase()];
  const fate: Fate = { state: 'unaccounted', deliveries: 0, finalStates: [], path: [], hops: [], failedAttempts: [], addresses, retries: 0, delayNotices: [] };
  const submitted = mine.find((e) => e.type === 'submitted');
  if (submitted) {
    fate.path.push(submitted.node);
    fate.submittedAt = submitted.at;
    if (submitted.type === 'submitted') fate.submission = submitted.classification;
  }
  for (const e of mine) {
    switch (e.type) {
      case 'retargeted':
        if (includes(addresses, e.recipient) && !includes(addresses, e.to)) addresses.push(e.to.toLowerCase());
        break;
      case 'received':
        if (includes(e.to, addresses)) fate.path.push(e.node);
        break;
      case 'attempt': {
        if (!includes(e.recipients, addresses)) break;
        if (!includes(e.accepted, addresses)) {
          fate.failedAttempts.push(e);
          break;
        }
        const { to, local, via } = throughPassThroughs(
          trace,
          nodeAt(e.destination.ip, e.destination.port) ?? `${e.destination.host} (${e.destination.ip})`,
          e.local,
        );
        const isReceipt = (r: TraceEvent): r is ReceivedEvent =>
          r.type === 'received' && r.node === to && r.remote.ip === local.ip && includes(r.to, addresses);
        // By the connection's ports; a man in the middle makes its own connection, so then by address.
        const received = mine.find((r): r is ReceivedEvent => isReceipt(r) && r.remote.port === local.port) ?? mine.find(isReceipt);
        fate.hops.push({ ...hopOf(e, to, received), ...(via.length && { via }) });
        break;
      }
      case 'delivered':
        if (!includes(addresses, e.recipient)) break;
        fate.deliveries++;
        fate.finalStates.push('delivered');
        Object.assign(fate, {
          state: 'delivered',
          at: e.at,
          realAt: e.realAt,
          node: e.node,
          mailbox: e.mailbox,
          folder: e.folder,
          reply: undefined,
          reason: undefined,
        });
        break;
      case 'handedOff':
        if (!includes(e.recipients, addresses)) break;
        fate.finalStates.push('handedOff');
        Object.assign(fate, { state: 'handedOff', at: e.at, realAt: e.realAt, node: e.node, handedOffTo: e.host, reply: undefined, reason: e.reason });
        break;
      case 'deleted':
        if (!includes(e.recipients, addresses)) break;
        fate.finalStates.push('deleted');
        Object.assign(fate, { state: 'deleted', at: e.at, realAt: e.realAt, node: e.node, rule: e.rule, reply: undefined, reason: e.reason });
        break;
      case 'rejected':
      case 'bounced':
        if (!includes(e.recipients, addresses)) break;
        fate.finalStates.push(e.type);
        Object.assign(fate, {
          state: e.type,
          at: e.at,
          realAt: e.realAt,
          node: e.by ?? e.node,
          reply: e.reply,
          reason: e.reason,
          ndr: e.dsn ? unfollowedNdr(e.dsn) : undefined,
          noNdr: e.noDsn,
        });
        break;
      case 'deferred':
        if (!includes(e.recipients, addresses)) break;
        fate.retries++;
        if (fate.state !== 'unaccounted') break;
        Object.assign(fate, { state: 'deferred', node: e.node, reply: e.reply, reason: e.reason });
        break;
      case 'dsn':
        if (!includes(e.recipients, addresses)) break;
        if (e.action === 'delayed') fate.delayNotices.push({ messageId: e.dsnMessageId, node: e.node, at: e.at, to: e.to });
        else fate.ndrAt ??= e.at;
        break;
      default:
        break;
    }
  }
  fate.hops = causalOrder(fate.hops, fate.path[0]);
  // a later deferral supersedes an earlier one; a final state is never overwritten by a deferral
  if (fate.state === 'deferred') {
    const last = [...mine].reverse().find((e) => e.type === 'deferred' && includes(e.recipients, addresses));
    if (last && last.type === 'deferred') Object.assign(fate, { at: last.at, realAt: last.realAt, node: last.node, reply: last.reply, reason: last.reason });
  }
  return fate;
}

/**
 * Hops in the order the message took them: each from where the last one ended. Events from
 * several node processes merge by lab time, and hops at the same lab time may arrive in any order.
 */
function causalOrder(hops: Hop[], start: string | undefined): Hop[] {
  const left = [...hops];
  const ordered: Hop[] = [];
  let at = start;
  while (left.length) {
    const next = Math.max(
      0,
      left.findIndex((h) => h.from === at),
    );
    const [hop] = left.splice(next, 1);
    ordered.push(hop!);
    at = hop!.to;
  }
  return ordered;
}

/** A few lines that tell the story of a message, for failure messages. */
export function describeFate(f: Fate): string[] {
  const lines = [`path: ${f.path.join(' → ') || '(never submitted)'}`];
  for (const h of f.hops) {
    lines.push(
      `  ${h.from} → ${h.to}${h.via ? ` (through ${h.via.join(', ')})` : ''}: ${h.tls}${h.cipher ? ` ${h.cipher}` : ''}; out ${h.outboundConnector}; in ${h.inboundConnector ?? '(none)'}; certificate ${h.serverCertificate ?? '(none)'}${h.certificateVerified === undefined ? '' : h.certificateVerified ? ' verified' : ' not verified'}${h.certificateName ? ` for ${h.certificateName}` : ''}`,
      `    ${h.tlsDecision}`,
    );
    const c = h.classification;
    if (c) {
      const spam = c.antispam ? `; SFV:${c.antispam.sfv} SCL:${c.antispam.scl} IPV:${c.antispam.ipv} DIR:${c.antispam.dir}` : '';
      const rules = c.rules.length ? `; rules: ${c.rules.map((r) => `${r.rule} (${r.actions.join(', ')})`).join('; ')}` : '';
      lines.push(
        `    at ${h.to}: AuthAs ${c.authAs}, ${c.directionality}${c.acceptCrossPremises ? ', cross-premises trusted' : ''}${spam}${rules} — ${c.reason}`,
      );
    }
  }
  const offset = (at: string) => (f.submittedAt ? `[${formatLabOffset(Date.parse(at) - Date.parse(f.submittedAt))}] ` : '');
  for (const a of f.failedAttempts) {
    lines.push(
      `  ${offset(a.at)}${a.node} → ${a.destination.host} (${a.destination.ip}): ${a.outcome}; ${a.tlsDecision}${a.replies.length ? `; ${a.replies.join(' | ')}` : ''}`,
    );
  }
  for (const d of f.delayNotices) lines.push(`${offset(d.at)}delay DSN: ${d.messageId} sent by ${d.node} to ${d.to}`);
  if (f.ndr || f.noNdr) lines.push(f.ndr ? `${f.ndrAt ? offset(f.ndrAt) : ''}NDR: ${f.ndr.messageId} sent to the envelope sender` : `no NDR: ${f.noNdr}`);
  lines.push(
    `final: ${f.state}${f.node ? ` at ${f.node}` : ''}${f.mailbox ? ` in ${f.mailbox}${f.folder ? ` (${f.folder})` : ''}` : ''}${f.rule ? ` by rule ${f.rule}` : ''}${f.handedOffTo ? ` to ${f.handedOffTo}` : ''}${f.reply ? `: ${f.reply}` : ''}${f.reason ? ` (${f.reason})` : ''}`,
  );
  const times = describeTimes(f.submittedAt, f.at, f.realAt);
  if (times) lines.push(`  ${times}${f.retries ? `; ${f.retries} temporary failures on the way` : ''}`);
  return lines;
}
