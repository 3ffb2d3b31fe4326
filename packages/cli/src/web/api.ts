import { parseDuration, trackingRow, type TraceEvent } from '@relaylab/core';
import { integer, invalid, line, MAX_ADVANCE_MS, only, Refused, shown, type FaultRequest } from '@relaylab/lab';
import { headerDiff, headerSteps, liveMessageHtml, liveTopologyHtml } from '@relaylab/report';
import type { LabView, QueueItem } from './lab-view';

/**
 * The web API's answers, built from a LabView: the JSON shapes the OpenAPI document (openapi.ts)
 * describes, in Exchange's vocabulary where Exchange has one (docs/exchange.md, "Message tracking
 * and queues"), and the checks on what a request may ask.
 */

/** Messages (or tracking rows) one page holds at most: enough for a screen, small for thousands. */
export const MAX_PAGE = 200;
/** The topology drawing shows the connections of this many latest messages. */
const DRAWN_MESSAGES = 200;

export function page(params: URLSearchParams, defaultLimit = 50): { offset: number; limit: number } {
  const num = (name: string, fallback: number, min: number, max: number) => {
    const text = params.get(name);
    if (text === null || text === '') return fallback;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw invalid(`${name}: expected an integer from ${min} to ${max}; found ${shown(text)}`);
    return n;
  };
  return { offset: num('offset', 0, 0, Number.MAX_SAFE_INTEGER), limit: num('limit', defaultLimit, 1, MAX_PAGE) };
}

export function labJson(v: LabView) {
  const { topology } = v;
  const fates = v.messageIds(0, DRAWN_MESSAGES).flatMap((id) => v.fates(id).map((f) => f.fate));
  return {
    name: topology.name ?? 'lab',
    now: v.now().toISOString(),
    events: v.eventCount,
    messages: v.messageCount(),
    nodes: Object.entries(topology.nodes).map(([name, spec]) => {
      const cert = spec.certificate ? topology.certificates?.[spec.certificate] : undefined;
      return {
        name,
        role: spec.role,
        hostname: spec.hostname,
        organization: spec.organization ?? null,
        address: spec.address,
        port: v.nodePort(name),
        certificateNames: cert ? [...new Set([cert.subject, ...(cert.sans ?? [])])] : [],
        mailboxes: spec.mailboxes ?? [],
        health: v.health(name),
        queued: v.queueItems(name).length,
      };
    }),
    topologySvg: liveTopologyHtml(topology, fates),
  };
}

export function messagesJson(v: LabView, params: URLSearchParams) {
  const { offset, limit } = page(params);
  return { total: v.messageCount(), offset, limit, messages: v.messageIds(offset, limit).map((id) => v.summary(id)!) };
}

export function messageJson(v: LabView, id: string) {
  const summary = v.summary(id);
  if (!summary) throw new Refused(404, `no message with Message-ID ${shown(id)} in this lab`);
  const fates = v.fates(id);
  const events = v.events(id);
  return {
    summary,
    recipients: fates.map(({ recipient, fate }) => ({
      recipient,
      fate,
      // what each node the message passed did to its header: added, removed, changed, kept, and why
      headerChanges: headerSteps(events, id, fate.addresses.length ? fate.addresses : [recipient]).map((step) => ({
        node: step.node,
        at: step.at,
        kind: step.kind,
        changes: headerDiff(step).filter((l) => l.kind !== 'kept'),
      })),
    })),
    queued: v.queued(id).map(({ node, item }) => ({ node, ...queuedMessage(node, item, v.now()) })),
    raw: v.raw(id)?.where ?? null,
    tracking: trackingRows(
      v,
      events.map((e, index) => ({ event: e, index })),
    ),
    events,
    html: liveMessageHtml(v.topology, events, id, fates),
  };
}

function queueStatus(items: readonly QueueItem[], now: Date, down: boolean): string {
  if (down) return 'Suspended';
  // Retry: the last attempt failed and the next waits for its time; Ready: due now, about to go
  return items.some((i) => i.nextAttemptAt <= now) ? 'Ready' : items.some((i) => i.attempts > 0) ? 'Retry' : 'Ready';
}

function queuedMessage(node: string, item: QueueItem, now: Date) {
  return {
    identity: `${node}\\${item.nextHop}\\${item.id}`,
    messageId: item.messageId,
    fromAddress: item.from,
    recipients: item.recipients,
    status: item.nextAttemptAt > now && item.attempts > 0 ? 'Retry' : 'Ready',
    size: item.size,
    queue: `${node}\\${item.nextHop}`,
    lastError: item.lastReply ?? null,
    lastErrorReason: item.lastReason ?? null,
    retryCount: item.attempts,
    dateReceived: item.enqueuedAt.toISOString(),
    nextRetryTime: item.nextAttemptAt.toISOString(),
  };
}

/** Get-Queue and Get-Message: one queue per next hop, as Exchange keeps them. */
export function queuesJson(v: LabView, node: string) {
  const now = v.now();
  const byHop = new Map<string, QueueItem[]>();
  for (const item of v.queueItems(node)) byHop.set(item.nextHop, [...(byHop.get(item.nextHop) ?? []), item]);
  const down = v.health(node) === 'down';
  return {
    node,
    queues: [...byHop].map(([hop, items]) => {
      const latest = [...items].filter((i) => i.lastReply).sort((a, b) => +b.nextAttemptAt - +a.nextAttemptAt)[0];
      const next = items.map((i) => i.nextAttemptAt).sort((a, b) => +a - +b)[0];
      return {
        identity: `${node}\\${hop}`,
        deliveryType:
          items[0]!.route.kind === 'OutboundConnector'
            ? 'SmartHostConnectorDelivery'
            : items[0]!.route.smartHosts.length
              ? 'SmartHostConnectorDelivery'
              : 'DnsConnectorDelivery',
        connector: items[0]!.route.connector,
        // the queue's key is connector|domain; Get-Queue shows the domain
        nextHopDomain: hop.slice(hop.lastIndexOf('|') + 1),
        nextHop: hop,
        status: queueStatus(items, now, down),
        messageCount: items.length,
        lastError: latest?.lastReply ?? null,
        nextRetryTime: next ? next.toISOString() : null,
        messages: items.map((i) => queuedMessage(node, i, now)),
      };
    }),
  };
}

const subjectOfRaw = (raw: Buffer): string | undefined => {
  const head = raw.subarray(0, Math.min(raw.length, 64 * 1024)).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const m = /^subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(end >= 0 ? head.slice(0, end) : head);
  return m?.[1]?.replace(/\r?\n[ \t]+/g, ' ').trim();
};

export function mailboxesJson(v: LabView, node: string) {
  return {
    node,
    mailboxes: v.mailboxes(node).map((b) => ({
      address: b.address,
      folders: b.folders.map((f) => ({
        name: f.name,
        count: f.messages.length,
        // newest first, at most one page: a mailbox of thousands is read through /api/messages
        messages: f.messages
          .slice(-MAX_PAGE)
          .reverse()
          .map((m) => ({
            messageId: m.messageId,
            from: m.from,
            subject: subjectOfRaw(m.raw) ?? null,
            deliveredAt: m.deliveredAt.toISOString(),
            size: m.raw.length,
          })),
      })),
    })),
  };
}

export interface TrackingRowJson {
  timestamp: string;
  eventId: string;
  source: string;
  server: string;
  serverHostname: string | null;
  serverIp: string | null;
  clientIp: string | null;
  clientHostname: string | null;
  connectorId: string | null;
  messageId: string;
  sender: string | null;
  recipients: string[];
  recipientStatus: string | null;
  messageSubject: string | null;
  directionality: string | null;
  eventIndex: number;
}

/** One Get-MessageTrackingLog row per trace event that Exchange would have logged. */
function rowOf(v: LabView, e: TraceEvent, index: number, eventId: string, source: string): TrackingRowJson {
  const spec = v.topology.nodes[e.node];
  const messageId = 'messageId' in e ? e.messageId : '';
  const summary = messageId ? v.envelope(messageId) : undefined;
  const row: TrackingRowJson = {
    timestamp: e.at,
    eventId,
    source,
    server: e.node,
    serverHostname: spec?.hostname ?? null,
    serverIp: spec?.address ?? null,
    clientIp: null,
    clientHostname: null,
    connectorId: null,
    messageId,
    sender: summary?.from ?? null,
    recipients: [],
    recipientStatus: null,
    messageSubject: summary?.subject ?? null,
    directionality: null,
    eventIndex: index,
  };
  switch (e.type) {
    case 'submitted':
      return { ...row, sender: e.from, recipients: e.to, directionality: e.classification?.directionality ?? null };
    case 'received':
      return {
        ...row,
        sender: e.from,
        recipients: e.to,
        clientIp: e.remote.ip,
        clientHostname: e.ehlo,
        connectorId: e.connector ? `${e.node}\\${e.connector}` : null,
        recipientStatus: e.replies.at(-1) ?? null,
        directionality: e.classification?.directionality ?? null,
      };
    case 'attempt':
      return {
        ...row,
        recipients: e.recipients,
        clientIp: e.local.ip,
        clientHostname: spec?.hostname ?? null,
        serverHostname: e.destination.host,
        serverIp: e.destination.ip,
        connectorId: e.connector,
        recipientStatus: e.replies.join(' | ') || null,
      };
    case 'delivered':
      return { ...row, recipients: [e.recipient], recipientStatus: `delivered to ${e.mailbox} (${e.folder})` };
    case 'rejected':
    case 'bounced':
    case 'deferred':
      return { ...row, recipients: e.recipients, recipientStatus: e.reply };
    case 'refused':
      return { ...row, sender: e.from ?? null, recipients: e.recipient ? [e.recipient] : [], clientIp: e.remote.ip, recipientStatus: e.reply };
    case 'retargeted':
      return { ...row, recipients: [e.recipient, e.to], recipientStatus: e.reason };
    case 'deleted':
      return { ...row, recipients: e.recipients, recipientStatus: `deleted by rule ${e.rule}` };
    case 'handedOff':
      return { ...row, recipients: e.recipients, serverHostname: e.host, serverIp: e.ip ?? null, connectorId: e.connector, recipientStatus: e.reason };
    case 'dsn':
      return { ...row, recipients: [e.to], recipientStatus: `${e.reply} (DSN ${e.dsnMessageId})` };
    default:
      return row;
  }
}

export function trackingRows(v: LabView, events: ReadonlyArray<{ event: TraceEvent; index: number }>): TrackingRowJson[] {
  const rows: TrackingRowJson[] = [];
  for (const { event, index } of events) {
    const r = trackingRow(event);
    if (r) rows.push(rowOf(v, event, index, r.eventId, r.source));
  }
  return rows;
}

const TRACKING_FILTERS = ['sender', 'recipient', 'messageId', 'eventId', 'start', 'end', 'offset', 'limit'];

function time(params: URLSearchParams, name: string): number | undefined {
  const text = params.get(name);
  if (!text) return undefined;
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw invalid(`${name}: expected a time such as 2026-01-01T10:00:00Z; found ${shown(text)}`);
  return t;
}

/** Get-MessageTrackingLog -Sender -Recipients -MessageId -EventId -Start -End, oldest first, paged. */
export function trackingJson(v: LabView, params: URLSearchParams) {
  for (const k of params.keys()) if (!TRACKING_FILTERS.includes(k)) throw invalid(`unknown filter "${k}"; expected ${TRACKING_FILTERS.join(', ')}`);
  const { offset, limit } = page(params);
  const sender = params.get('sender')?.toLowerCase();
  const recipient = params.get('recipient')?.toLowerCase();
  const messageId = params.get('messageId');
  const eventId = params.get('eventId')?.toUpperCase();
  const start = time(params, 'start');
  const end = time(params, 'end');
  const all = trackingRows(v, v.allEvents()).filter(
    (r) =>
      (!sender || r.sender?.toLowerCase().includes(sender)) &&
      (!recipient || r.recipients.some((x) => x.toLowerCase().includes(recipient))) &&
      (!messageId || r.messageId === messageId || r.messageId === `<${messageId}>`) &&
      (!eventId || r.eventId === eventId) &&
      (start === undefined || Date.parse(r.timestamp) >= start) &&
      (end === undefined || Date.parse(r.timestamp) <= end),
  );
  return { total: all.length, offset, limit, rows: all.slice(offset, offset + limit) };
}

// ---- what POSTs may carry ----

export interface SendRequest {
  node: string;
  from: string;
  to: string[];
  subject: string;
  body: string;
}

/** Body text: any characters but NUL, at most 32 KB; line ends become CRLF on the way. */
const MAX_TEXT_BODY = 32 * 1024;

export function sendRequest(b: Record<string, unknown>, v: LabView): SendRequest {
  only(b, ['node', 'from', 'to', 'subject', 'body']);
  const node = nodeName(b.node, v);
  const from = line(b.from, 'from', 320);
  if (from && !/^[^\s@<>]+@[^\s@<>]+$/.test(from))
    throw invalid(`from: expected an address such as alice@contoso.example, or "" for the null sender; found ${shown(from)}`);
  if (!Array.isArray(b.to) || !b.to.length || b.to.length > 100) throw invalid(`to: expected a list of 1 to 100 addresses; found ${shown(b.to)}`);
  const to = b.to.map((t, i) => {
    const a = line(t, `to[${i}]`, 320);
    if (!/^[^\s@<>]+@[^\s@<>]+$/.test(a)) throw invalid(`to[${i}]: expected an address such as carol@contoso.example; found ${shown(a)}`);
    return a;
  });
  const subject = b.subject === undefined ? 'relaylab test message' : line(b.subject, 'subject', 900);
  if (b.body !== undefined && (typeof b.body !== 'string' || b.body.length > MAX_TEXT_BODY || b.body.includes('\0')))
    throw invalid(`body: expected text of at most ${MAX_TEXT_BODY} characters without NUL; found ${shown(b.body)}`);
  return { node, from, to, subject, body: (b.body as string | undefined) ?? 'Sent from the relaylab web API.' };
}

export function nodeName(value: unknown, v: LabView): string {
  const name = line(value, 'node', 200);
  if (!v.hasNode(name)) throw new Refused(404, `no node named ${shown(name)} in this lab; nodes: ${v.nodeNames().join(', ')}`);
  return name;
}

/** `{ms}` or `{duration: "1h"}`: how far the lab clock moves. */
export function advanceRequest(b: Record<string, unknown>): number {
  only(b, ['ms', 'duration']);
  if ((b.ms === undefined) === (b.duration === undefined))
    throw invalid('expected exactly one of ms (an integer) or duration (such as "90s", "15m", "1h", "2d")');
  if (b.ms !== undefined) return integer(b, 'ms', 0, MAX_ADVANCE_MS)!;
  const text = line(b.duration, 'duration', 40);
  const ms = parseDuration(text);
  if (ms === undefined || ms < 0 || ms > MAX_ADVANCE_MS)
    throw invalid(`duration: expected a duration such as "90s", "15m", "1h" or "2d"; found ${shown(text)}`);
  return ms;
}

export function retryRequest(b: Record<string, unknown>): string | undefined {
  only(b, ['nextHop']);
  return b.nextHop === undefined ? undefined : line(b.nextHop, 'nextHop', 300);
}

export type { FaultRequest };

// ---- for tools that drive load through a running lab (relaylab load --web) ----

/** Message-IDs one states request may ask about: a run of thousands asks in a few requests, each well under the 64 KiB body limit. */
export const MAX_STATES = 500;

/** What a load tool samples while it runs: the lab process's memory and each node's queue, without the topology drawing /api/lab renders. */
export function statsJson(v: LabView) {
  return {
    pid: process.pid,
    // rss() alone: memoryUsage() also walks the heap's statistics, a cost sampled ten times a second
    rssBytes: process.memoryUsage.rss(),
    events: v.eventCount,
    messages: v.messageCount(),
    queued: Object.fromEntries(v.nodeNames().map((n) => [n, v.queueItems(n).length])),
  };
}

export function statesRequest(b: Record<string, unknown>): string[] {
  only(b, ['messageIds']);
  if (!Array.isArray(b.messageIds) || !b.messageIds.length || b.messageIds.length > MAX_STATES)
    throw invalid(`messageIds: expected a list of 1 to ${MAX_STATES} Message-IDs; found ${shown(b.messageIds)}`);
  return b.messageIds.map((id, i) => line(id, `messageIds[${i}]`, 998));
}

const TAKEN = new Set(['submitted', 'received', 'restored']);

/**
 * Per Message-ID: each node that took the message in and when (lab time and real time), per
 * recipient its state as the lab's fate gives it, and the nodes whose queue holds it now. The
 * queues are read once per request, not once per message. `known: false` for a Message-ID the
 * lab never took in, or one older than the messages the view keeps.
 */
export function statesJson(v: LabView, ids: readonly string[]) {
  const asked = new Set(ids);
  const queuedAt = new Map<string, string[]>();
  for (const node of v.nodeNames())
    for (const item of v.queueItems(node)) if (asked.has(item.messageId)) queuedAt.set(item.messageId, [...(queuedAt.get(item.messageId) ?? []), node]);
  return {
    messages: ids.map((messageId) => {
      const hops = v
        .events(messageId)
        .filter((e) => TAKEN.has(e.type))
        .map((e) => ({ node: e.node, type: e.type, at: e.at, realAt: e.realAt ?? null }));
      const states = v.fates(messageId).map(({ recipient, fate }) => ({ recipient, state: fate.state, node: fate.node ?? null }));
      return { messageId, known: v.has(messageId), hops, states, queuedAt: [...new Set(queuedAt.get(messageId) ?? [])] };
    }),
  };
}
