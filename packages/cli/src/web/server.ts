import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { body, CONTROL_BODY_LIMIT, faultRequest, hostOf, listenOn, Refused, sameSecret, send, shown } from '@relaylab/lab';
import { LIVE_SCRIPT, LIVE_STYLES, livePageHtml } from '@relaylab/report';
import {
  advanceRequest,
  labJson,
  mailboxesJson,
  messageJson,
  messagesJson,
  nodeName,
  queuesJson,
  retryRequest,
  sendRequest,
  statesJson,
  statesRequest,
  statsJson,
  trackingJson,
} from './api';
import type { LabView } from './lab-view';
import { openApiDocument } from './openapi';

/** What `relaylab up` serves when no --web-port is given (8025 is the nodes' control API, and Mailpit's). */
export const WEB_PORT = 8525;
export const SESSION_COOKIE = 'relaylab_session';
/** Browsers following the lab at once; each holds one event stream open. */
const MAX_FOLLOWERS = 32;

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * The web view and API of a running lab, on a loopback address of its own port. The same rules as
 * the nodes' control API (node-control.ts): the lab's control token, the API's own address as
 * Host, bounded JSON bodies checked field by field. A browser carries the token as a session
 * cookie instead: `relaylab up` prints `/login?token=…`, which sets the cookie (HttpOnly,
 * SameSite=Strict) and sends the browser on to the page, so the token leaves the address bar at
 * once. Requests from other sites are refused (Origin, Sec-Fetch-Site), and POSTs must be JSON,
 * which no cross-site form can send.
 */
export class WebServer {
  private readonly server: Server;
  private readonly session = randomBytes(32).toString('base64url');
  private readonly followers = new Set<ServerResponse>();
  private bound?: { address: string; port: number };

  constructor(
    private readonly view: LabView,
    private readonly token: string,
  ) {
    if (!token) throw new Error('the web API needs a token');
    this.server = createServer((req, res) => {
      this.route(req, res).catch((err: Error) => {
        if (err instanceof Refused) send(res, err.status, { error: err.message }, { ...SECURITY_HEADERS, ...err.headers });
        else send(res, 500, { error: err.message }, SECURITY_HEADERS);
      });
    });
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 60_000;
  }

  async listen(port: number, address: string): Promise<void> {
    this.bound = await listenOn(this.server, port, address);
  }

  get origin(): string {
    const b = this.bound!;
    return `http://${b.address}:${b.port}`;
  }

  /** The address to open: it logs the browser in and leads to the page. */
  get loginUrl(): string {
    return `${this.origin}/login?token=${encodeURIComponent(this.token)}`;
  }

  async close(): Promise<void> {
    for (const f of this.followers) f.end();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Host, then where the request comes from; the token or session last (see the class comment). */
  private admit(req: IncomingMessage, needsAuth: boolean): void {
    const bound = this.bound!;
    const { host, port } = hostOf(req.headers.host ?? '');
    if (!((host === bound.address || host === 'localhost') && port === String(bound.port)))
      throw new Refused(403, `Host ${shown(req.headers.host ?? '')} is not this web API's address ${bound.address}:${bound.port}`);
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}`) throw new Refused(403, `requests from ${shown(origin)} are not answered`);
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new Refused(403, `requests from another site (${shown(site)}) are not answered`);
    if (!needsAuth) return;
    const bearer = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? '');
    if (bearer && sameSecret(bearer[1]!, this.token)) return;
    const cookie = (req.headers.cookie ?? '')
      .split(';')
      .map((c) => c.trim().split('='))
      .find(([k]) => k === SESSION_COOKIE)?.[1];
    if (cookie && sameSecret(cookie, this.session)) return;
    throw new Refused(401, "missing or wrong token: open the address `relaylab up` printed, or send Authorization: Bearer <the lab's control-token>", {
      'www-authenticate': 'Bearer realm="relaylab"',
    });
  }

  private async json(req: IncomingMessage): Promise<Record<string, unknown>> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      req.resume();
      throw new Refused(415, `expected Content-Type: application/json; found ${shown(req.headers['content-type'] ?? 'none')}`);
    }
    return body(req, CONTROL_BODY_LIMIT);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://web');
    if (url.pathname === '/login') return this.login(req, res, url);
    this.admit(req, true);
    const method = req.method ?? 'GET';
    let parts: string[];
    try {
      parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
    } catch {
      throw new Refused(400, `the path ${shown(url.pathname)} is not well encoded`);
    }
    const v = this.view;
    const get = method === 'GET' || method === 'HEAD';
    const ok = (value: unknown, status = 200) => send(res, status, value, SECURITY_HEADERS);
    const path = url.pathname;
    if (get && path === '/')
      return this.asset(res, 'text/html; charset=utf-8', livePageHtml(v.topology.name ?? 'lab'), { 'content-security-policy': PAGE_CSP });
    if (get && path === '/app.js') return this.asset(res, 'text/javascript; charset=utf-8', LIVE_SCRIPT);
    if (get && path === '/app.css') return this.asset(res, 'text/css; charset=utf-8', LIVE_STYLES);
    if (get && path === '/api/openapi.json') return ok(openApiDocument());
    if (get && path === '/api/lab') return ok(labJson(v));
    if (get && path === '/api/events') return this.follow(req, res);
    if (get && path === '/api/tracking') return ok(trackingJson(v, url.searchParams));
    if (get && path === '/api/stats') return ok(statsJson(v));
    if (path === '/api/messages/states' && method === 'POST') return ok(statesJson(v, statesRequest(await this.json(req))));
    if (path === '/api/messages' && get) return ok(messagesJson(v, url.searchParams));
    if (path === '/api/messages' && method === 'POST') {
      const r = sendRequest(await this.json(req), v);
      return ok({ messageId: v.send(r.node, r) }, 202);
    }
    if (parts[0] === 'api' && parts[1] === 'messages' && parts.length >= 3 && parts[2] && get) {
      const id = parts[2];
      if (parts.length === 3) return ok(messageJson(v, id));
      if (parts.length === 4 && parts[3] === 'raw') return this.raw(res, id, url.searchParams.get('download') === '1');
    }
    if (path === '/api/clock/advance' && method === 'POST') {
      await v.advance(advanceRequest(await this.json(req)));
      return ok({ now: v.now().toISOString() });
    }
    if (parts[0] === 'api' && parts[1] === 'nodes' && parts.length >= 4) {
      const node = nodeName(parts[2], v);
      const action = parts.slice(3).join('/');
      if (get && action === 'mailboxes') return ok(mailboxesJson(v, node));
      if (get && action === 'queues') return ok(queuesJson(v, node));
      if (method === 'POST' && ['down', 'up', 'faults', 'queues/retry'].includes(action)) {
        const b = await this.json(req);
        if (action === 'queues/retry') return ok({ retried: v.retry(node, retryRequest(b)) });
        if (action === 'faults') {
          await v.fault(node, faultRequest(b));
          return ok({ health: v.health(node) });
        }
        if (Object.keys(b).length) throw new Refused(400, `${action} takes an empty object {}; found ${shown(b)}`);
        await (action === 'down' ? v.down(node) : v.up(node));
        return ok({ health: v.health(node) });
      }
    }
    throw new Refused(404, `no such page or endpoint: ${method} ${shown(path)} (see /api/openapi.json)`);
  }

  private login(req: IncomingMessage, res: ServerResponse, url: URL): void {
    this.admit(req, false);
    const given = url.searchParams.get('token') ?? '';
    if (!given || !sameSecret(given, this.token)) {
      res.writeHead(401, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
      res.end("relaylab: wrong or missing token. Open the address `relaylab up` printed (it holds the lab's control-token).\n");
      return;
    }
    res.writeHead(303, {
      ...SECURITY_HEADERS,
      location: '/',
      'set-cookie': `${SESSION_COOKIE}=${this.session}; HttpOnly; SameSite=Strict; Path=/`,
    });
    res.end();
  }

  private asset(res: ServerResponse, type: string, text: string, headers: Record<string, string> = {}): void {
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': type, ...headers });
    res.end(text);
  }

  private raw(res: ServerResponse, id: string, download: boolean): void {
    const copy = this.view.raw(id);
    if (!copy) throw new Refused(404, `no copy of ${shown(id)} is held: it is neither in a mailbox nor in a queue`);
    const name = `${id.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '') || 'message'}.eml`;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      // shown as text in the page; as message/rfc822 when saved, so a mail client opens the .eml
      'content-type': download ? 'message/rfc822' : 'text/plain; charset=utf-8',
      ...(download && { 'content-disposition': `attachment; filename="${name}"` }),
      'x-relaylab-copy': copy.where,
    });
    res.end(copy.raw);
  }

  /** Server-sent events: one `trace` event per trace event, from now on (the page reads state from the API). */
  private follow(req: IncomingMessage, res: ServerResponse): void {
    if (this.followers.size >= MAX_FOLLOWERS) throw new Refused(503, `at most ${MAX_FOLLOWERS} event streams at once`);
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream', connection: 'keep-alive' });
    res.write(`retry: 2000\n: relaylab events from ${this.view.eventCount}\n\n`);
    const unsubscribe = this.view.subscribe((e, index) => {
      // t: when the lab recorded it, in ms of this process's monotonic clock (sub-millisecond; for intervals such as hop latency)
      const data = {
        index,
        type: e.type,
        node: e.node,
        at: e.at,
        t: performance.now(),
        messageId: 'messageId' in e ? e.messageId : undefined,
        by: e.type === 'rejected' ? e.by : undefined,
      };
      res.write(`id: ${index}\nevent: trace\ndata: ${JSON.stringify(data)}\n\n`);
    });
    // a comment now and then, so proxies and the browser know the stream is alive
    const beat = setInterval(() => res.write(': beat\n\n'), 15_000);
    this.followers.add(res);
    req.socket.setTimeout(0);
    res.on('close', () => {
      clearInterval(beat);
      unsubscribe();
      this.followers.delete(res);
    });
  }
}
