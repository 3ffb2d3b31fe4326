import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import {
  checkChain,
  classifySession,
  connectionCountRefusal,
  declaredSizeVerdict,
  decideReceiveConnector,
  domainOf,
  EXCHANGE_EHLO_GREETING,
  formatReply,
  matchInboundConnector,
  messageSizeVerdict,
  PLAINTEXT,
  queuedText,
  receiveLimits,
  recipientCountVerdict,
  refuse,
  relayRights,
  REPLIES,
  routeRecipient,
  selectReceiveConnector,
  sessionCutRefusal,
  type AcceptedRecipient,
  type Accepted,
  type ChainCheck,
  type Classification,
  type Clock,
  type Endpoint,
  type InboundDecision,
  type NodeContext,
  type ReceiveConnector,
  type ReceiveLimits,
  type Refused,
  type RelayRights,
  type SessionFacts,
  type TlsFacts,
  type TrustStore,
} from '@relaylab/core';
import { installExchangeReplies } from './exchange-replies';
import { installFaultGate, type FaultReport, type NodeFaults } from './faults';
import { setGreetingPause } from './greeting-pause';
import type { NodeTrace } from './node-trace';
import { SessionLimits } from './session-limits';
import { smtpError } from './smtp-error';
import { cipherFacts, localChain, peerChain, tlsVersionOptions, type CipherFacts } from './tls-socket';

export interface SessionState {
  id: string;
  local: Endpoint;
  remote: Endpoint;
  ehlo: string;
  receiveConnector?: ReceiveConnector;
  /** The connector's limits (the role's defaults where it says nothing). */
  limits: ReceiveLimits;
  /** A RCPT past MaxRecipientsPerMessage has been refused in this transaction. */
  recipientsCapped?: boolean;
  tls: TlsFacts;
  cipher: CipherFacts;
  clientCertificate?: ChainCheck;
  inbound?: InboundDecision;
  relay: RelayRights;
  /** Exchange nodes: how this session's sender is classified (decided at MAIL FROM). */
  classification?: Classification;
  /** The recipients taken so far in this transaction, each with where it goes. */
  recipients: Map<string, AcceptedRecipient>;
}

/** The node's answer to DATA: taken (the 250 names the message) or refused by its policy. */
/**
 * `durable`: resolves once the node holds the message on disk; the 250 waits for it (a rejection answers 451).
 * `reply`: the 250's text after the code, in the node's own words (see queuedText).
 */
export type Acceptance = (Accepted & { messageId: string; durable?: Promise<void>; reply?: string }) | Refused;

export interface ListenerTimeouts {
  /**
   * Replaces every receive connector's ConnectionInactivityTimeout (Exchange's default is 5
   * minutes on Mailbox servers): a lab that wants idle clients cut quickly sets it.
   */
  socketMs?: number;
  /** How long stop() lets open sessions finish (default 1 s: a lab stops promptly). */
  closeMs?: number;
  /** Sessions served at once; more get 421 (default 100). */
  maxClients?: number;
  /**
   * How long a new connection waits for its 220 (default smtp-server's 100 ms, in which a client
   * that talks first gets 421). Exchange greets at once; a lab replaying hours of retries sets 0.
   */
  greetingPauseMs?: number;
}

export interface ListenerDeps {
  ctx: NodeContext;
  key?: string;
  chainPem?: string;
  trust: TrustStore;
  clock: Clock;
  trace: NodeTrace;
  logger: Logger;
  timeouts: ListenerTimeouts;
  faults: NodeFaults;
  listenPort(): number;
  /** The node takes over an accepted message before the 250 reply, or refuses it. */
  accept(session: SessionState, from: string, raw: Buffer): Acceptance;
  /** What MAIL FROM waits for while the node's queue is under back pressure (see DeliveryQueue.backPressure). */
  backPressure?(): Promise<void> | undefined;
}

const endpoint = (ip: string | undefined, port: number | undefined): Endpoint => ({ ip: (ip ?? '').replace(/^::ffff:/, ''), port: port ?? 0 });

export function createListener(deps: ListenerDeps): SMTPServer {
  const { ctx } = deps;
  const sessions = new Map<string, SessionState>();
  const state = (session: SMTPServerSession): SessionState => sessions.get(session.id)!;
  const offersTls = !!deps.key && !!deps.chainPem && ctx.spec.starttls !== false;
  const receiveConnectors = ctx.spec.receiveConnectors?.length ? ctx.spec.receiveConnectors : ctx.preset.defaultReceiveConnectors;
  const limitsOf = (c: ReceiveConnector | undefined) => receiveLimits(ctx.preset.receiveLimits, c);
  const everyLimit = ctx.preset.connectorModel === 'online' ? [limitsOf(undefined)] : receiveConnectors.map(limitsOf);
  // The lab may shorten every connector's ConnectionInactivityTimeout (tests, real time).
  const idleMsOf = (l: ReceiveLimits) => deps.timeouts.socketMs ?? l.connectionInactivityTimeoutMs;

  /** The one place a refusal becomes what smtp-server answers: traced, logged, then the error it sends. */
  const answer = (
    s: SessionState,
    command: 'CONNECT' | 'MAIL FROM' | 'RCPT TO' | 'DATA' | 'SESSION',
    verdict: Refused,
    extra: { from?: string; recipient?: string } = {},
  ) => {
    const reply = formatReply(verdict.reply);
    deps.trace.emit({ type: 'refused', sessionId: s.id, command, remote: s.remote, reply, reason: verdict.reason, ...extra });
    deps.logger.info({ sessionId: s.id, command, reply }, verdict.reason);
    return smtpError(verdict.reply);
  };

  /** MAIL FROM once any back pressure has let it through: the connector, the classification and the relay rights. */
  const mailFrom = (address: SMTPServerAddress, session: SMTPServerSession, callback: (err?: Error | null) => void): void => {
    const s = state(session);
    s.ehlo = session.hostNameAppearsAs ?? '';
    s.recipients.clear();
    s.recipientsCapped = false;
    const size = declaredSizeVerdict(s.limits, Number((address.args || {}).SIZE ?? 0));
    if (size.outcome === 'refuse') return callback(answer(s, 'MAIL FROM', size, { from: address.address }));
    // Checked per transaction, at the lab's time now: one session may outlive a certificate.
    s.clientCertificate = s.tls.peerChain.length ? checkChain(s.tls.peerChain, deps.trust, deps.clock.now()) : undefined;
    const facts: SessionFacts = {
      clientIp: s.remote.ip,
      localIp: s.local.ip,
      localPort: s.local.port,
      ehlo: s.ehlo,
      secure: s.tls.secure,
      clientCertificate: s.clientCertificate,
    };
    s.inbound =
      ctx.preset.connectorModel === 'online'
        ? matchInboundConnector(ctx.spec.inboundConnectors ?? [], facts, domainOf(address.address))
        : decideReceiveConnector(s.receiveConnector, facts);
    if (s.inbound.verdict.outcome === 'refuse') return callback(answer(s, 'MAIL FROM', s.inbound.verdict, { from: address.address }));
    s.classification = ctx.preset.exchange
      ? classifySession({
          ctx,
          inbound: s.inbound,
          receiveConnector: s.receiveConnector,
          clientCertificate: s.clientCertificate,
          secure: s.tls.secure,
          senderDomain: domainOf(address.address),
        })
      : undefined;
    s.relay = relayRights(ctx, s);
    callback();
  };

  const server = new SMTPServer({
    name: ctx.spec.hostname,
    // Exchange roles: the banner is Exchange's own (installExchangeReplies), the EHLO line `<fqdn> Hello [<ip>]`
    banner: ctx.preset.exchange ? undefined : 'ESMTP relaylab',
    ...(ctx.preset.exchange && { heloResponse: EXCHANGE_EHLO_GREETING }),
    secure: false,
    key: deps.key,
    cert: deps.chainPem,
    ...tlsVersionOptions(ctx.spec.tls),
    requestCert: true,
    rejectUnauthorized: false,
    hideSTARTTLS: !offersTls,
    disabledCommands: offersTls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    authOptional: true,
    disableReverseLookup: true,
    // What EHLO advertises and MAIL FROM SIZE= is first held to; each session then to its own connector's MaxMessageSize.
    size: Math.max(...everyLimit.map((l) => l.maxMessageBytes)),
    logger: false,
    // A backstop only: SessionLimits cuts idle sessions first, with Exchange's reply.
    socketTimeout: Math.max(...everyLimit.map(idleMsOf)) + 1000,
    closeTimeout: deps.timeouts.closeMs ?? 1000,
    maxClients: deps.timeouts.maxClients ?? 100,

    onConnect(session, callback) {
      const s: SessionState = {
        // smtp-server's own session id, so fault events from its command gate name the same session
        id: session.id,
        local: endpoint(session.localAddress, session.localPort),
        remote: endpoint(session.remoteAddress, session.remotePort),
        ehlo: '',
        tls: PLAINTEXT,
        cipher: {},
        relay: { allowed: false, reason: 'no MAIL FROM yet' },
        recipients: new Map(),
        limits: limitsOf(undefined),
      };
      sessions.set(session.id, s);
      if (ctx.preset.connectorModel === 'server') {
        s.receiveConnector = selectReceiveConnector(
          receiveConnectors,
          { clientIp: s.remote.ip, localIp: s.local.ip, localPort: s.local.port },
          deps.listenPort(),
        );
        if (!s.receiveConnector) {
          return callback(answer(s, 'CONNECT', refuse(REPLIES.noReceiveConnector, `no receive connector on ${ctx.spec.hostname} accepts ${s.remote.ip}`)));
        }
        s.limits = limitsOf(s.receiveConnector);
      }
      const connector = s.receiveConnector?.Name ?? '';
      const over = limits.admit(s.id, connector, s.remote.ip, s.limits, idleMsOf(s.limits));
      if (over) return callback(answer(s, 'CONNECT', connectionCountRefusal(s.limits, over, connector, s.remote.ip)));
      callback();
    },

    onSecure(socket, session, callback) {
      const s = state(session);
      const tls = socket as TLSSocket;
      const chain = peerChain(tls);
      s.cipher = cipherFacts(tls);
      s.tls = { starttlsOffered: true, secure: true, protocol: s.cipher.protocol, cipher: s.cipher.cipher, peerChain: chain, localChain: localChain(tls) };
      callback();
    },

    onMailFrom(address: SMTPServerAddress, session, callback) {
      const held = deps.backPressure?.();
      if (!held) return mailFrom(address, session, callback);
      // Exchange's back pressure delays the reply to MAIL FROM; a client that left meanwhile has no session.
      void held.then(() => (sessions.has(session.id) ? mailFrom(address, session, callback) : callback(new Error('the client left'))));
    },

    onRcptTo(address: SMTPServerAddress, session, callback) {
      const s = state(session);
      const envelope = { from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined, recipient: address.address };
      const count = recipientCountVerdict(s.limits, s.recipients.size);
      if (count.outcome === 'refuse') {
        // One trace line per transaction: a client may send thousands more.
        if (s.recipientsCapped) return callback(smtpError(count.reply));
        s.recipientsCapped = true;
        return callback(answer(s, 'RCPT TO', count, envelope));
      }
      const origin = s.inbound?.connectorType === 'OnPremises' ? 'onpremises' : 'external';
      const decision = routeRecipient(ctx, address.address, s.relay, origin);
      if (decision.outcome === 'refuse') return callback(answer(s, 'RCPT TO', decision, envelope));
      s.recipients.set(address.address, decision);
      callback();
    },

    onData(stream: SMTPServerDataStream, session, callback) {
      const s = state(session);
      const chunks: Buffer[] = [];
      const max = s.limits.maxMessageBytes;
      let received = 0;
      let dropped = false;
      stream.on('error', () => undefined);
      stream.on('data', (chunk: Buffer) => {
        limits.touch(s.id);
        if (!dropped && received === 0 && deps.faults.takeDrop()) {
          // The connection dies with the message half sent: nothing may be accepted from it.
          dropped = true;
          emitFault(s.id, 'dropDuringData', `cut the connection from ${s.remote.ip} in the middle of DATA`);
          socketOf(session.id)?.destroy();
        }
        received += chunk.length;
        // Past MaxMessageSize the rest is read to the final dot and thrown away: memory stays flat.
        if (received > max) chunks.length = 0;
        else chunks.push(chunk);
      });
      stream.on('end', () => {
        if (dropped) return callback(smtpError(REPLIES.acceptFailed));
        // smtp-server's own count (sizeExceeded) is held to the largest connector's limit: ours is never above it.
        const size = messageSizeVerdict(s.limits, received);
        if (size.outcome === 'refuse') return callback(answer(s, 'DATA', size));
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        let taken: Acceptance;
        try {
          taken = deps.accept(s, from, Buffer.concat(chunks));
        } catch (err) {
          deps.logger.error({ err }, 'accepting a message failed');
          return callback(smtpError(REPLIES.acceptFailed));
        }
        if (taken.outcome === 'refuse') return callback(answer(s, 'DATA', taken, { from }));
        const { messageId, durable } = taken;
        const queued = taken.reply ?? queuedText(REPLIES.queued, messageId);
        if (!durable) return callback(null, queued);
        durable.then(
          () => callback(null, queued),
          (err: unknown) => {
            deps.logger.error({ err, messageId }, 'writing the spool failed');
            callback(smtpError(REPLIES.acceptFailed));
          },
        );
      });
    },

    onClose(session) {
      sessions.delete(session.id);
      limits.release(session.id);
    },
  });
  server.on('error', (err) => deps.logger.warn({ err }, 'listener error'));
  const emitFault: FaultReport = (sessionId, fault, detail) => deps.trace.emit({ type: 'fault', fault, detail, sessionId });
  const socketOf = installFaultGate(server, deps.faults, emitFault);
  const limits = new SessionLimits(server, (sessionId, limit, ms) => {
    const s = sessions.get(sessionId);
    const cut = sessionCutRefusal(limit, ms, s?.receiveConnector?.Name);
    if (s) answer(s, 'SESSION', cut);
    return cut.reply;
  });
  if (ctx.preset.exchange) installExchangeReplies(server, ctx.spec.hostname, () => deps.clock.now());
  if (deps.timeouts.greetingPauseMs !== undefined) setGreetingPause(server, deps.timeouts.greetingPauseMs);
  guardHooks(server, deps.logger);
  return server;
}

/**
 * A bug in a hook must cost one transaction, not the node: whatever a hook throws is logged and
 * answered with a temporary failure, so the client may retry and other sessions go on.
 */
function guardHooks(server: SMTPServer, logger: Logger): void {
  const hooks = server as unknown as Record<'onConnect' | 'onMailFrom' | 'onRcptTo' | 'onData', (...args: unknown[]) => void>;
  for (const name of ['onConnect', 'onMailFrom', 'onRcptTo', 'onData'] as const) {
    const hook = hooks[name].bind(server);
    hooks[name] = (...args: unknown[]) => {
      try {
        hook(...args);
      } catch (err) {
        logger.error({ err, hook: name }, 'a listener hook failed');
        (args[args.length - 1] as (err: Error) => void)(smtpError(REPLIES.acceptFailed));
      }
    };
  }
}
