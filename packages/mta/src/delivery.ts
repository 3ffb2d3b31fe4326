import { randomBytes } from 'node:crypto';
import {
  decideOutboundTls,
  domainOf,
  formatReply,
  parseReply,
  REPLIES,
  summarizeTls,
  type AttemptEvent,
  type Clock,
  type OutboundRoute,
  type OutboundTlsVerdict,
  type Resolver,
  type SmtpReply,
  type TlsFacts,
  type TrustStore,
  DnsError,
} from '@relaylab/core';
import { ConnectError, openConnection, resetConnection, sendMessage } from './client-adapter';
import type { TlsVersionOptions } from './tls-socket';
import type { NodeTrace } from './node-trace';
import type { ConnectionPool, PooledConnection } from './pool';

export interface SenderIdentity {
  hostname: string;
  address: string;
  key?: string;
  cert?: string;
  versions?: TlsVersionOptions;
}

export interface DeliveryJob {
  messageId: string;
  from: string;
  recipients: string[];
  raw: Buffer;
  route: OutboundRoute;
  /** Called the moment the next hop answered 250 for these recipients, before anything else runs. */
  onSent?(recipients: string[]): void;
}

export type RecipientOutcome =
  /** Also a hand-off outside the lab (traced as `handedOff`, nothing sent): for the queue, done alike. */
  | { recipient: string; kind: 'sent'; reply: string }
  | { recipient: string; kind: 'refused' | 'deferred'; reply: string; reason: string; by?: { ip: string; port: number; host?: string } };

export interface DeliveryDeps {
  identity: SenderIdentity;
  resolver: Resolver;
  clock: Clock;
  trust: TrustStore;
  pool: ConnectionPool;
  trace: NodeTrace;
  /** The port the lab's node on this address (and with this host name) listens on. */
  portOf(ip: string, host?: string): number;
  /** The lab node listening there, if any: a next hop that is none of them is outside the lab. */
  nodeAt?(ip: string, port: number): string | undefined;
}

/** The TLS handshake itself failed: the policy's verdict on what that means for this host. */
interface HandshakeFailure {
  handshakeFailed: string;
  facts: TlsFacts;
  verdict: OutboundTlsVerdict;
}

interface Target {
  host: string;
  ip: string;
  port: number;
}

const all = (recipients: string[], kind: 'refused' | 'deferred', reply: string, reason: string, by?: Target): RecipientOutcome[] =>
  recipients.map((recipient) => ({ recipient, kind, reply, reason, by: by && { ip: by.ip, port: by.port, host: by.host } }));

function connectFailure(err: ConnectError): SmtpReply {
  if (err.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(err.message)) return REPLIES.connectionRefused;
  if (err.code === 'ETIMEDOUT' || /timed? ?out/i.test(err.message)) return REPLIES.connectionTimedOut;
  if (err.code === 'ECONNRESET' || /closed|reset/i.test(err.message)) return REPLIES.connectionClosed;
  return REPLIES.cannotConnect;
}

/** Carries one queued job to its next hop over a pooled connection, under the connector's TLS policy. */
export class Deliverer {
  constructor(private readonly deps: DeliveryDeps) {}

  /** Next-hop addresses in preference order; a host that does not resolve is skipped, not fatal. */
  private async targets(job: DeliveryJob): Promise<{ targets: Target[]; problems: string[]; unresolved: string[] } | { nonexistent: string }> {
    let hosts: string[];
    if (job.route.smartHosts.length) {
      hosts = job.route.smartHosts;
    } else {
      // a job is made for at least one recipient, all of one next hop
      const domain = domainOf(job.recipients[0]!);
      try {
        hosts = (await this.deps.resolver.mx(domain)).map((r) => r.exchange);
      } catch (err) {
        if (err instanceof DnsError) return { nonexistent: `${err.message}: ${domain} does not exist` };
        throw err;
      }
    }
    const targets: Target[] = [];
    const problems: string[] = [];
    const unresolved: string[] = [];
    for (const host of hosts) {
      try {
        for (const ip of await this.deps.resolver.a(host)) targets.push({ host, ip, port: this.deps.portOf(ip, host) });
      } catch (err) {
        problems.push((err as Error).message);
        unresolved.push(host);
      }
    }
    return { targets, problems, unresolved };
  }

  private decide(job: DeliveryJob, target: Target, facts: TlsFacts) {
    const recipientDomain = job.recipients[0]?.split('@').pop()?.toLowerCase();
    return decideOutboundTls({ policy: job.route.tls, destination: target.host, recipientDomain, facts, trust: this.deps.trust, now: this.deps.clock.now() });
  }

  /**
   * A connection with the TLS verdict on what it showed, or the verdict on a failed handshake.
   * Anything else that goes wrong on the way (refused, timed out, a 4xx/5xx greeting) is thrown.
   */
  private async open(
    job: DeliveryJob,
    target: Target,
    plaintext: boolean,
    fallbackFrom?: string,
  ): Promise<{ connection: PooledConnection } | HandshakeFailure> {
    const key = `${job.route.connector}|${target.host}|${target.ip}:${target.port}|${plaintext ? 'plain' : 'tls'}`;
    const reused = this.deps.pool.take(key);
    // A reused connection keeps its handshake, but the decision is taken again: the lab clock
    // may have moved past the certificate's validity since it was opened.
    if (reused) return { connection: this.deps.pool.track({ ...reused, verdict: this.decide(job, target, reused.facts) }) };
    const { identity } = this.deps;
    try {
      const open = await openConnection({
        host: target.ip,
        port: target.port,
        servername: target.host,
        localAddress: identity.address,
        ehloName: identity.hostname,
        key: identity.key,
        cert: identity.cert,
        versions: identity.versions,
        plaintext,
      });
      const facts: TlsFacts = fallbackFrom ? { ...open.facts, fallbackFrom } : open.facts;
      return {
        connection: this.deps.pool.track({
          ...open,
          facts,
          id: randomBytes(4).toString('hex'),
          key,
          messages: 0,
          verdict: this.decide(job, target, facts),
          destination: target,
        }),
      };
    } catch (err) {
      if (!(err instanceof ConnectError && err.tlsFailure)) throw err;
      const facts: TlsFacts = { starttlsOffered: true, secure: false, peerChain: [], localChain: [], handshakeError: err.message };
      return { handshakeFailed: err.message, facts, verdict: this.decide(job, target, facts) };
    }
  }

  async deliver(job: DeliveryJob): Promise<RecipientOutcome[]> {
    let found: Awaited<ReturnType<Deliverer['targets']>>;
    try {
      found = await this.targets(job);
    } catch (err) {
      return all(job.recipients, 'deferred', formatReply(REPLIES.dnsFailed), (err as Error).message);
    }
    if ('nonexistent' in found) return all(job.recipients, 'refused', formatReply(REPLIES.noRoute), found.nonexistent);
    const outside = this.outsideTheLab(job, found.targets, found.unresolved);
    if (outside) return this.handOff(job, outside);
    if (!found.targets.length) {
      return all(
        job.recipients,
        'deferred',
        formatReply(REPLIES.dnsFailed),
        `no address for the next hop of ${job.route.connector}: ${found.problems.join('; ')}`,
      );
    }
    let last: RecipientOutcome[] = [];
    for (const target of found.targets) {
      const outcome = await this.tryTarget(job, target, job.route.ignoreStartTls);
      if (!('failover' in outcome)) return outcome;
      last = outcome.failover;
    }
    return last;
  }

  /**
   * The host the message leaves the lab for, when no host of its next hop is a lab node: every
   * address the hosts have is served by none, and (by MX only) a host without an address in the
   * lab's DNS counts as a host out there. When any host is a lab node, delivery goes on as
   * before (an address no node serves refuses the connection; the next host is tried).
   */
  private outsideTheLab(job: DeliveryJob, targets: Target[], unresolved: string[]): { host: string; ip?: string; reason: string } | undefined {
    const nodeAt = this.deps.nodeAt;
    if (!nodeAt || targets.some((t) => nodeAt(t.ip, t.port) !== undefined)) return undefined;
    const byMx = !job.route.smartHosts.length;
    const first = targets[0];
    if (!first && !(byMx && unresolved.length)) return undefined; // smart hosts that do not resolve: a DNS failure, deferred
    const host = first?.host ?? unresolved[0]!;
    const how = byMx ? `the MX of ${domainOf(job.recipients[0]!)}` : `smart host of ${job.route.connector}`;
    return {
      host,
      ip: first?.ip,
      reason: `${how} is ${host}${first ? ` (${first.ip})` : ''}, which no lab node serves: handed off outside the lab at the routing decision, nothing sent`,
    };
  }

  private handOff(job: DeliveryJob, to: { host: string; ip?: string; reason: string }): RecipientOutcome[] {
    this.deps.trace.emit({
      type: 'handedOff',
      messageId: job.messageId,
      recipients: job.recipients,
      connector: job.route.connector,
      host: to.host,
      ...(to.ip !== undefined && { ip: to.ip }),
      reason: to.reason,
    });
    job.onSent?.(job.recipients); // the lab's part is done: the spool forgets them
    return job.recipients.map((recipient) => ({ recipient, kind: 'sent', reply: `handed off to ${to.host}, outside the lab` }));
  }

  /** The outcome for this host, or `failover` when the next host should be tried (the connection never got going). */
  private async tryTarget(
    job: DeliveryJob,
    target: Target,
    plaintext: boolean,
    fallbackFrom?: string,
  ): Promise<RecipientOutcome[] | { failover: RecipientOutcome[] }> {
    let opened: Awaited<ReturnType<Deliverer['open']>>;
    try {
      opened = await this.open(job, target, plaintext, fallbackFrom);
    } catch (err) {
      const e = err as ConnectError;
      const reply = e.response ? parseReply(e.response) : undefined;
      if (reply && reply.code >= 500) {
        return all(job.recipients, 'refused', e.response!, `${target.host} refused the connection: ${e.response}`, target);
      }
      const detail = reply ? `${target.host} answered ${e.response}` : `${target.host} (${target.ip}:${target.port}): ${e.message}`;
      return { failover: all(job.recipients, 'deferred', reply ? e.response! : formatReply(connectFailure(e)), detail, target) };
    }
    if ('handshakeFailed' in opened) {
      const { verdict, facts, handshakeFailed } = opened;
      this.emitAttempt(job, target, undefined, facts, verdict.reason, 'deferred', [handshakeFailed]);
      if (verdict.outcome === 'defer' && verdict.retryPlaintext) return this.tryTarget(job, target, true, handshakeFailed);
      // No policy accepts a failed handshake; the type allows it, and failing over is the safe reading.
      const reply = verdict.outcome === 'defer' ? verdict.reply : REPLIES.cannotConnect;
      // Like Exchange's "attempted failover to alternate host": the next MX or smart host gets its turn.
      return { failover: all(job.recipients, 'deferred', formatReply(reply), verdict.reason, target) };
    }

    const pc = opened.connection;
    const { verdict } = pc;
    if (verdict.outcome !== 'accept') {
      this.emitAttempt(job, target, pc, pc.facts, verdict.reason, 'deferred', []);
      this.deps.pool.release(pc, false);
      return { failover: all(job.recipients, 'deferred', formatReply(verdict.reply), verdict.reason, target) };
    }

    const reusedCount = pc.messages;
    const result = await sendMessage(pc.connection, job.from, job.recipients, job.raw);
    pc.messages++;
    if (result.connectionLost) {
      this.emitAttempt(job, target, pc, pc.facts, verdict.reason, 'deferred', [result.response], reusedCount);
      this.deps.pool.release(pc, false);
      return all(job.recipients, 'deferred', formatReply(REPLIES.connectionClosed), `${target.host}: ${result.response}`, target);
    }
    const outcomes: RecipientOutcome[] = job.recipients.map((recipient) => {
      const refusal = result.rejectedResponses[recipient] ?? (!result.ok || result.rejected.includes(recipient) ? result.response : undefined);
      if (refusal === undefined) return { recipient, kind: 'sent', reply: result.response };
      const code = parseReply(refusal)?.code ?? 451;
      return {
        recipient,
        kind: code >= 500 ? 'refused' : 'deferred',
        reply: refusal,
        reason: `${target.host} answered ${refusal}`,
        by: { ip: target.ip, port: target.port, host: target.host },
      };
    });
    const accepted = outcomes.filter((o) => o.kind === 'sent').map((o) => o.recipient);
    if (accepted.length) job.onSent?.(accepted);
    this.emitAttempt(job, target, pc, pc.facts, verdict.reason, accepted.length ? 'sent' : outcomes[0]!.kind, [result.response], reusedCount, accepted);
    if (result.ok) {
      this.deps.pool.release(pc, true);
    } else {
      const reusable = await resetConnection(pc.connection);
      this.deps.pool.release(pc, reusable);
    }
    return outcomes;
  }

  private emitAttempt(
    job: DeliveryJob,
    target: Target,
    pc: PooledConnection | undefined,
    facts: TlsFacts,
    decision: string,
    outcome: AttemptEvent['outcome'],
    replies: string[],
    reused = 0,
    accepted: string[] = [],
  ): void {
    const chain = pc?.verdict.chain;
    this.deps.trace.emit({
      type: 'attempt',
      messageId: job.messageId,
      recipients: job.recipients,
      accepted,
      connector: job.route.connector,
      connectorKind: job.route.kind,
      destination: target,
      local: pc?.local ?? { ip: this.deps.identity.address, port: 0 },
      connectionId: pc?.id ?? 'none',
      reusedConnection: reused,
      tls: summarizeTls(facts),
      tlsRequirement: `${job.route.tls.settingName} ${job.route.tls.requirement}`,
      tlsDecision: decision,
      certificateVerified: chain?.valid,
      certificateProblems: chain?.problems,
      verifiedName: pc?.verdict.verifiedName,
      outcome,
      replies,
    });
  }
}
