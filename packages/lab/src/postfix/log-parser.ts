import type { AttemptEvent, FinalFailureEvent, ReceivedEvent, RefusedEvent, TlsSummary, TraceEvent } from '@relaylab/core';
import { tlsPolicyOf, type PostfixRoute } from './config';

/** What the parser knows of the node whose maillog it reads. */
export interface PostfixLogContext {
  node: string;
  address: string;
  port: number;
  routes: PostfixRoute[];
}

/** A trace event without its time: the caller stamps it with the lab clock. */
export type PostfixEvent = DistributiveOmit<TraceEvent, 'at'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

interface TlsSeen {
  trust: 'Anonymous' | 'Untrusted' | 'Trusted' | 'Verified';
  protocol: string;
  cipher: string;
}

interface Session {
  id: string;
  remote: { ip: string; port: number };
  tls?: TlsSeen;
  helo?: string;
}

interface QueueFile {
  messageId?: string;
  from?: string;
  session?: Session;
  recipients: string[];
  /** Bounced recipients are traced at `removed`, once the non-delivery notification is known. */
  bounced: Array<Omit<FinalFailureEvent, 'at' | 'node'>>;
  dsnQueueId?: string;
}

const LINE = /\s(?:[\w.-]+\/)*([\w-]+)\[(\d+)\]: (.*)$/;
const PEER = /([\w.-]+)\[([\d.]+)\](?::(\d+))?/;
const TLS = /^(Anonymous|Untrusted|Trusted|Verified) TLS connection established (?:from|to) \S+: (\S+) with cipher (\S+)/;
const DELIVERY = /^([0-9A-F]+): to=<([^>]*)>,(?: orig_to=<[^>]*>,)? relay=([^,]+), .*?dsn=([\d.]+), status=(\w+) \((.*)\)$/;

const peerOf = (text: string) => {
  const m = PEER.exec(text);
  return m ? { host: m[1]!, ip: m[2]!, port: Number(m[3] ?? 25) } : undefined;
};

const tlsSummary = (tls: TlsSeen | undefined): TlsSummary =>
  tls ? { starttlsOffered: true, secure: true, protocol: tls.protocol, cipher: tls.cipher } : { starttlsOffered: false, secure: false };

/** `host X said: 550 5.7.1 text (in reply to RCPT TO command)` → the reply; Postfix's own words → `dsn text`. */
export function replyOf(dsn: string, text: string): string {
  const said = /said: (\d{3}[ -].*?)(?: \(in reply to [^)]*\))?$/.exec(text);
  if (said) return said[1]!.replace(/^(\d{3})-/, '$1 ');
  if (/^\d{3} /.test(text)) return text;
  return `${dsn} ${text}`;
}

/**
 * Turns Postfix's maillog, line by line, into relaylab's trace events: what its smtpd received,
 * what its smtp client attempted (with the TLS it negotiated and how it trusted the certificate,
 * as smtp_tls_loglevel 1 logs them), what it delivered to a mailbox, deferred or bounced. The
 * same facts relaylab's own nodes trace, read from what Postfix did rather than assumed.
 */
export class PostfixLogParser {
  private readonly sessions = new Map<string, Session>();
  private readonly files = new Map<string, QueueFile>();
  /** smtp client process → the TLS of its current connection, by destination. */
  private readonly clientTls = new Map<string, TlsSeen & { problems: string[] }>();
  private readonly problems = new Map<string, string[]>();
  private sessionCount = 0;
  /** Queue files in Postfix's active queue whose fate has not been logged yet. */
  readonly open = new Set<string>();

  constructor(private readonly ctx: PostfixLogContext) {}

  private file(qid: string): QueueFile {
    let f = this.files.get(qid);
    if (!f) this.files.set(qid, (f = { recipients: [], bounced: [] }));
    return f;
  }

  private route(ip: string, port: number): PostfixRoute | undefined {
    return this.ctx.routes.find((r) => r.ip === ip && r.port === port);
  }

  feed(line: string): PostfixEvent[] {
    const m = LINE.exec(line);
    if (!m) return [];
    const [, program, pid, text] = m as unknown as [string, string, string, string];
    switch (program) {
      case 'smtpd':
        return this.smtpd(pid, text);
      case 'cleanup': {
        const id = /^([0-9A-F]+): message-id=(<[^>]*>|\S+)/.exec(text);
        if (id) {
          const f = this.file(id[1]!);
          f.messageId ??= id[2];
        }
        return [];
      }
      case 'qmgr':
        return this.qmgr(text);
      case 'smtp':
        return this.smtp(pid, text);
      case 'virtual':
      case 'error':
      case 'retry':
        return this.delivery(pid, text);
      case 'bounce': {
        const n = /^([0-9A-F]+): sender non-delivery notification: ([0-9A-F]+)/.exec(text);
        if (n) this.file(n[1]!).dsnQueueId = n[2];
        return [];
      }
      default:
        return [];
    }
  }

  private smtpd(pid: string, text: string): PostfixEvent[] {
    const connect = /^connect from (.*)$/.exec(text);
    if (connect) {
      const peer = peerOf(connect[1]!);
      this.sessions.set(pid, { id: `postfix-${this.ctx.node}-${++this.sessionCount}`, remote: { ip: peer?.ip ?? '', port: peer?.port ?? 0 } });
      return [];
    }
    const session = this.sessions.get(pid);
    if (!session) return [];
    const tls = TLS.exec(text);
    if (tls) {
      session.tls = { trust: tls[1] as TlsSeen['trust'], protocol: tls[2]!, cipher: tls[3]! };
      return [];
    }
    const client = /^([0-9A-F]+): client=/.exec(text);
    if (client) {
      this.file(client[1]!).session = session;
      return [];
    }
    const info = /^([0-9A-F]+): info: RCPT from [^;]*; from=<([^>]*)> to=<([^>]*)>.*?helo=<([^>]*)>/.exec(text);
    if (info) {
      const f = this.file(info[1]!);
      f.from = info[2];
      f.recipients.push(info[3]!);
      session.helo = info[4];
      return [];
    }
    const reject = /^(?:[0-9A-F]+|NOQUEUE): reject: (\S+) from [^:]*(?::\d+)?: (\d{3} [\d.]+ .*?); from=<([^>]*)>(?: to=<([^>]*)>)?/.exec(text);
    if (reject) {
      const qid = /^([0-9A-F]+): /.exec(text)?.[1];
      // INFO logged the recipient before the checks after it refused it
      if (qid && reject[4]) {
        const f = this.file(qid);
        f.recipients = f.recipients.filter((r, i) => r !== reject[4] || f.recipients.indexOf(r) !== i);
      }
      const command =
        reject[1] === 'RCPT' ? 'RCPT TO' : reject[1] === 'MAIL' ? 'MAIL FROM' : reject[1] === 'DATA' || reject[1] === 'END-OF-MESSAGE' ? 'DATA' : 'CONNECT';
      const event: Omit<RefusedEvent, 'at'> = {
        type: 'refused',
        node: this.ctx.node,
        sessionId: session.id,
        command,
        from: reject[3],
        recipient: reject[4],
        remote: session.remote,
        reply: reject[2]!,
        reason: `Postfix smtpd refused ${reject[1]}`,
      };
      return [event];
    }
    return [];
  }

  private qmgr(text: string): PostfixEvent[] {
    const active = /^([0-9A-F]+): from=<([^>]*)>, size=\d+, nrcpt=\d+ \(queue active\)/.exec(text);
    if (active) {
      const qid = active[1]!;
      const f = this.file(qid);
      f.from ??= active[2];
      this.open.add(qid);
      if (!f.session || !f.messageId || f.recipients.length === 0) return [];
      const s = f.session;
      f.session = undefined; // traced once, not again when a deferred file comes back
      const received: Omit<ReceivedEvent, 'at'> = {
        type: 'received',
        node: this.ctx.node,
        sessionId: s.id,
        messageId: f.messageId,
        from: active[2]!,
        to: f.recipients,
        local: { ip: this.ctx.address, port: this.ctx.port },
        remote: s.remote,
        ehlo: s.helo ?? '',
        tls: tlsSummary(s.tls),
        clientCertificateVerified: s.tls && s.tls.trust !== 'Anonymous' ? s.tls.trust !== 'Untrusted' : undefined,
        connector: 'smtpd',
        reason: `accepted by Postfix smtpd${s.tls ? ` over ${s.tls.protocol} (${s.tls.trust === 'Anonymous' ? 'no client certificate' : `client certificate ${s.tls.trust}`})` : ' without TLS'}`,
        replies: [],
        headersIn: [],
      };
      return [received];
    }
    const removed = /^([0-9A-F]+): removed/.exec(text);
    if (removed) {
      const qid = removed[1]!;
      this.open.delete(qid);
      const f = this.files.get(qid);
      if (!f) return [];
      this.files.delete(qid);
      const dsn = f.dsnQueueId ? this.files.get(f.dsnQueueId)?.messageId : undefined;
      const events: PostfixEvent[] = f.bounced.map((b) => ({
        ...b,
        node: this.ctx.node,
        ...(dsn ? { dsn } : { noDsn: f.from ? undefined : 'the sender was <> (a notification is never answered with another)' }),
      }));
      if (dsn && f.messageId && f.from)
        events.push({
          type: 'dsn',
          node: this.ctx.node,
          messageId: f.messageId,
          dsnMessageId: dsn,
          to: f.from,
          recipients: f.bounced.flatMap((b) => b.recipients),
          reply: f.bounced[0]?.reply ?? '',
        });
      return events;
    }
    return [];
  }

  private smtp(pid: string, text: string): PostfixEvent[] {
    const tls = TLS.exec(text);
    if (tls) {
      this.clientTls.set(pid, { trust: tls[1] as TlsSeen['trust'], protocol: tls[2]!, cipher: tls[3]!, problems: this.problems.get(pid) ?? [] });
      this.problems.delete(pid);
      return [];
    }
    const failed =
      /^(?:server )?certificate verification failed for [^:]+:\d+: (.*)$/.exec(text) ?? /^[\w.-]+\[[\d.]+\]:\d+: (subject_CN=.*|depth=.*)$/.exec(text);
    if (failed) {
      this.problems.set(pid, [...(this.problems.get(pid) ?? []), failed[1]!]);
      return [];
    }
    return this.delivery(pid, text);
  }

  private delivery(pid: string, text: string): PostfixEvent[] {
    const d = DELIVERY.exec(text);
    if (!d) return [];
    const [, qid, rcpt, relay, dsn, status, detail] = d as unknown as [string, string, string, string, string, string, string];
    const f = this.file(qid);
    const messageId = f.messageId ?? `<postfix ${qid}>`;
    const node = this.ctx.node;
    const events: PostfixEvent[] = [];
    if (relay === 'virtual' && status === 'sent') {
      events.push({ type: 'delivered', node, messageId, recipient: rcpt, mailbox: rcpt, folder: 'Inbox' });
      return events;
    }
    const reply = replyOf(dsn, detail);
    // "delivery temporarily suspended: …" repeats an earlier failure without connecting: no attempt
    const suspended = detail.startsWith('delivery temporarily suspended');
    const peer = suspended ? undefined : relay === 'none' ? peerOf(/connect to (\S+)/.exec(detail)?.[1] ?? '') : peerOf(relay);
    if (peer) {
      const route = this.route(peer.ip, peer.port);
      const policy = route ? tlsPolicyOf(route) : { level: 'may' as const };
      const tls = this.clientTls.get(pid);
      const usedTls = relay !== 'none' ? tls : undefined;
      const problems = [...(usedTls?.problems ?? []), ...(relay !== 'none' && !usedTls ? (this.problems.get(pid) ?? []) : [])];
      this.problems.delete(pid);
      const attempt: Omit<AttemptEvent, 'at'> = {
        type: 'attempt',
        node,
        messageId,
        recipients: [rcpt],
        accepted: status === 'sent' ? [rcpt] : [],
        connector: route?.connector ?? 'transport_maps',
        connectorKind: 'Postfix transport',
        destination: { host: route?.host ?? peer.host, ip: peer.ip, port: peer.port },
        local: { ip: this.ctx.address, port: 0 },
        connectionId: `postfix-${node}-smtp-${pid}`,
        reusedConnection: 0,
        tls: tlsSummary(usedTls),
        tlsRequirement: `smtp_tls_security_level ${policy.level}${policy.match ? ` match=${policy.match}` : ''}`,
        tlsDecision: usedTls
          ? `Postfix: ${usedTls.trust} TLS connection (${usedTls.protocol}) at level ${policy.level}`
          : `Postfix: no TLS connection at level ${policy.level}${detail ? `: ${detail}` : ''}`,
        certificateVerified: usedTls ? usedTls.trust === 'Verified' || usedTls.trust === 'Trusted' : undefined,
        certificateProblems: problems.length ? problems : undefined,
        verifiedName: usedTls?.trust === 'Verified' ? (policy.match ?? route?.host) : undefined,
        outcome: status === 'sent' ? 'sent' : status === 'deferred' ? 'deferred' : 'refused',
        replies: [reply],
      };
      events.push(attempt);
    }
    if (status === 'deferred') {
      this.open.delete(qid);
      events.push({ type: 'deferred', node, messageId, recipients: [rcpt], reply, reason: `Postfix deferred the message: ${detail}` });
    }
    if (status === 'bounced') f.bounced.push({ type: 'bounced', messageId, recipients: [rcpt], reply, reason: `Postfix bounced the message: ${detail}` });
    return events;
  }
}
