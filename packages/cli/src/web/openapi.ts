import { cliVersion } from '../version';

/**
 * The web API of `relaylab up`, as an OpenAPI 3.1 document (served at /api/openapi.json and
 * validated in packages/cli/test/web-api.test.ts). Kept by hand beside the routes in server.ts;
 * that test also calls every path it lists, so a route without a description or a description
 * without a route fails.
 */

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const str = { type: 'string' };
const strOrNull = { type: ['string', 'null'] };
const int = { type: 'integer', minimum: 0 };
const json = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } });
const errors = {
  '400': json(ref('Error'), 'the request is not well formed; the message says which field and why'),
  '401': json(ref('Error'), 'missing or wrong token'),
  '403': json(ref('Error'), 'wrong Host, or a request from another site'),
  '404': json(ref('Error'), 'no such node, message or endpoint'),
};
const postErrors = {
  ...errors,
  '413': json(ref('Error'), 'the body is larger than 64 KiB'),
  '415': json(ref('Error'), 'the body is not Content-Type: application/json'),
};
const body = (schema: object) => ({ required: true, content: { 'application/json': { schema } } });
const nodeParam = { name: 'node', in: 'path', required: true, description: 'a node name of the topology', schema: str };
const pageParams = [
  { name: 'offset', in: 'query', description: 'rows to skip (newest first for messages, oldest first for tracking)', schema: int },
  { name: 'limit', in: 'query', description: 'rows per page, 1 to 200 (default 50)', schema: { type: 'integer', minimum: 1, maximum: 200 } },
];
const empty = { type: 'object', additionalProperties: false, maxProperties: 0 };
const health = { type: 'object', required: ['health'], properties: { health: ref('Health') } };

export function openApiDocument() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'relaylab web API',
      version: cliVersion(),
      description:
        "What `relaylab up` serves on loopback (default 127.0.0.1:8525, option --web-port): the running lab's topology and node health, every message with its path, TLS and certificate verdict per hop, classification and header changes, mailboxes, queues in Exchange's vocabulary (Get-Queue, Get-Message), message tracking (Get-MessageTrackingLog), live events, and the actions of a class: send, node down/up, faults, advance the clock, Retry-Queue. Every request needs the lab's control token (`Authorization: Bearer <certs>/control-token`), or the session cookie that GET /login?token=… sets for a browser; the Host must be the address it listens on; requests from other sites are refused; POST bodies are JSON of at most 64 KiB.",
    },
    servers: [{ url: 'http://127.0.0.1:8525', description: 'the default address of relaylab up' }],
    security: [{ bearer: [] }, { session: [] }],
    paths: {
      '/login': {
        get: {
          summary: 'Log a browser in: sets the session cookie and redirects to the page',
          security: [],
          parameters: [{ name: 'token', in: 'query', required: true, description: "the lab's control token", schema: str }],
          responses: { '303': { description: 'logged in; on to /' }, '401': { description: 'wrong or missing token' } },
        },
      },
      '/api/openapi.json': { get: { summary: 'This document', responses: { '200': json({ type: 'object' }, 'the OpenAPI document'), ...errors } } },
      '/api/lab': {
        get: {
          summary: 'The topology, each node with its health, the lab clock, counts and the topology drawing',
          responses: { '200': json(ref('Lab'), 'the lab'), ...errors },
        },
      },
      '/api/events': {
        get: {
          summary:
            'Live updates: one server-sent event `trace` per trace event, data {index, type, node, at, t, messageId?, by?}: `at` lab time; `t` when the lab recorded it, in milliseconds of its own monotonic clock (sub-millisecond, for intervals such as hop latency); `by` for a rejected event, the node whose reply refused the message',
          responses: {
            '200': { description: 'an event stream', content: { 'text/event-stream': { schema: str } } },
            ...errors,
            '503': json(ref('Error'), 'too many streams'),
          },
        },
      },
      '/api/messages': {
        get: {
          summary: 'Messages, newest first, a page at a time',
          parameters: pageParams,
          responses: { '200': json(ref('MessagePage'), 'a page'), ...errors },
        },
        post: {
          summary: 'Send a test message as a user of a node (submitted, as Outlook would)',
          requestBody: body(ref('SendRequest')),
          responses: {
            '202': json({ type: 'object', required: ['messageId'], properties: { messageId: str } }, 'taken; follow it by its Message-ID'),
            ...postErrors,
          },
        },
      },
      '/api/messages/{messageId}': {
        get: {
          summary:
            "One message: where it is now, per recipient its fate (path, hops with TLS, certificate and classification verdicts), queue entries, tracking rows, trace events, and the report's drawing as HTML",
          parameters: [{ name: 'messageId', in: 'path', required: true, description: 'the Message-ID with its angle brackets, URL-encoded', schema: str }],
          responses: { '200': json(ref('MessageDetail'), 'the message'), ...errors },
        },
      },
      '/api/messages/{messageId}/raw': {
        get: {
          summary: 'The message bytes the lab holds (a mailbox copy, else a queued one); download=1 for an .eml attachment',
          parameters: [
            { name: 'messageId', in: 'path', required: true, schema: str },
            { name: 'download', in: 'query', schema: { type: 'string', enum: ['1'] } },
          ],
          responses: {
            '200': { description: 'the bytes', content: { 'text/plain': { schema: str }, 'message/rfc822': { schema: str } } },
            ...errors,
          },
        },
      },
      '/api/tracking': {
        get: {
          summary: 'Get-MessageTrackingLog: one row per tracked event, oldest first',
          parameters: [
            { name: 'sender', in: 'query', description: 'part of the envelope sender', schema: str },
            { name: 'recipient', in: 'query', description: 'part of a recipient', schema: str },
            { name: 'messageId', in: 'query', description: 'the Message-ID, with or without angle brackets', schema: str },
            {
              name: 'eventId',
              in: 'query',
              schema: { type: 'string', enum: ['RECEIVE', 'SUBMIT', 'SEND', 'DELIVER', 'DEFER', 'FAIL', 'DSN', 'RESOLVE', 'DROP'] },
            },
            { name: 'start', in: 'query', description: 'lab time, ISO 8601', schema: { type: 'string', format: 'date-time' } },
            { name: 'end', in: 'query', description: 'lab time, ISO 8601', schema: { type: 'string', format: 'date-time' } },
            ...pageParams,
          ],
          responses: { '200': json(ref('TrackingPage'), 'a page of rows'), ...errors },
        },
      },
      '/api/stats': {
        get: {
          summary: "The lab process's memory and each node's queue, cheap enough to sample every 100 ms (what relaylab load --web samples)",
          responses: { '200': json(ref('Stats'), 'the figures now'), ...errors },
        },
      },
      '/api/messages/states': {
        post: {
          summary:
            'Where many messages are, by Message-ID (up to 500 a request; a read, as a POST for the length of its list): the nodes that took each in and when, per recipient its state, the queues that hold it now',
          requestBody: body(ref('StatesRequest')),
          responses: { '200': json(ref('States'), 'one entry per Message-ID asked, in the order asked'), ...postErrors },
        },
      },
      '/api/clock/advance': {
        post: {
          summary: 'Move the lab clock; every queue retries what is now due',
          requestBody: body(ref('AdvanceRequest')),
          responses: { '200': json({ type: 'object', required: ['now'], properties: { now: str } }, 'the lab time now'), ...postErrors },
        },
      },
      '/api/nodes/{node}/mailboxes': {
        get: {
          summary: "The node's mailboxes with their folders (Inbox, Junk Email), newest first",
          parameters: [nodeParam],
          responses: { '200': json(ref('Mailboxes'), 'mailboxes'), ...errors },
        },
      },
      '/api/nodes/{node}/queues': {
        get: {
          summary: 'Get-Queue and Get-Message: one queue per next hop',
          parameters: [nodeParam],
          responses: { '200': json(ref('Queues'), 'queues'), ...errors },
        },
      },
      '/api/nodes/{node}/queues/retry': {
        post: {
          summary: 'Retry-Queue: what waits for nextHop (every queue without it) is tried now',
          parameters: [nodeParam],
          requestBody: body({ type: 'object', additionalProperties: false, properties: { nextHop: str } }),
          responses: { '200': json({ type: 'object', required: ['retried'], properties: { retried: int } }, 'how many messages were made due'), ...postErrors },
        },
      },
      '/api/nodes/{node}/down': {
        post: {
          summary: 'Take the node down: listener closed, queue kept',
          parameters: [nodeParam],
          requestBody: body(empty),
          responses: { '200': json(health, 'done'), ...postErrors },
        },
      },
      '/api/nodes/{node}/up': {
        post: {
          summary: 'Bring the node up on the same address and port',
          parameters: [nodeParam],
          requestBody: body(empty),
          responses: { '200': json(health, 'done'), ...postErrors },
        },
      },
      '/api/nodes/{node}/faults': {
        post: {
          summary: "Switch a listener fault on (or heal): the node control API's POST /faults",
          parameters: [nodeParam],
          requestBody: body(ref('FaultRequest')),
          responses: { '200': json(health, 'done'), ...postErrors },
        },
      },
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'the token in <certs>/control-token' },
        session: { type: 'apiKey', in: 'cookie', name: 'relaylab_session', description: 'set by GET /login' },
      },
      schemas: {
        Error: { type: 'object', required: ['error'], properties: { error: str } },
        Health: { type: 'string', enum: ['up', 'down', 'faulted'] },
        Node: {
          type: 'object',
          required: ['name', 'role', 'hostname', 'address', 'port', 'certificateNames', 'mailboxes', 'health', 'queued'],
          properties: {
            name: str,
            role: str,
            hostname: str,
            organization: strOrNull,
            address: str,
            port: int,
            certificateNames: { type: 'array', items: str },
            mailboxes: { type: 'array', items: str },
            health: ref('Health'),
            queued: int,
          },
        },
        Lab: {
          type: 'object',
          required: ['name', 'now', 'events', 'messages', 'nodes', 'topologySvg'],
          properties: {
            name: str,
            now: str,
            events: int,
            messages: int,
            nodes: { type: 'array', items: ref('Node') },
            topologySvg: { type: 'string', description: "the HTML report's topology drawing (SVG)" },
          },
        },
        MessageSummary: {
          type: 'object',
          required: ['messageId', 'from', 'to', 'firstSeen', 'firstNode', 'now', 'states'],
          properties: {
            messageId: str,
            from: str,
            to: { type: 'array', items: str },
            subject: str,
            firstSeen: str,
            firstNode: str,
            now: { type: 'string', description: 'where the message is now, per recipient' },
            states: {
              type: 'array',
              items: {
                type: 'object',
                required: ['recipient', 'state', 'messageTraceStatus'],
                properties: {
                  recipient: str,
                  state: { type: 'string', enum: ['delivered', 'rejected', 'deferred', 'bounced', 'deleted', 'handedOff', 'unaccounted'] },
                  node: str,
                  messageTraceStatus: {
                    type: 'string',
                    enum: ['Delivered', 'FilteredAsSpam', 'Failed', 'Pending', 'None'],
                    description: 'what Get-MessageTrace would say: Junk Email is FilteredAsSpam, a rule that deleted the message None',
                  },
                },
              },
            },
          },
        },
        MessagePage: {
          type: 'object',
          required: ['total', 'offset', 'limit', 'messages'],
          properties: { total: int, offset: int, limit: int, messages: { type: 'array', items: ref('MessageSummary') } },
        },
        Hop: {
          type: 'object',
          description: "one connection that handed the message on: TLS, certificate verdict, connectors on both sides, the receiving node's classification",
          required: ['from', 'to', 'tls', 'outboundConnector', 'tlsDecision'],
          properties: {
            from: str,
            to: str,
            tls: str,
            cipher: str,
            certificateVerified: { type: 'boolean' },
            certificateName: str,
            certificateProblems: { type: 'array', items: str },
            outboundConnector: str,
            inboundConnector: str,
            tlsDecision: str,
            inboundReason: str,
            classification: { type: 'object', description: 'AuthAs, directionality, rules, anti-spam verdict and the reason' },
          },
        },
        Fate: {
          type: 'object',
          required: ['state', 'path', 'hops'],
          properties: {
            state: str,
            node: str,
            mailbox: str,
            folder: str,
            reply: str,
            reason: str,
            path: { type: 'array', items: str },
            hops: { type: 'array', items: ref('Hop') },
            failedAttempts: { type: 'array', items: { type: 'object' } },
          },
        },
        MessageDetail: {
          type: 'object',
          required: ['summary', 'recipients', 'queued', 'raw', 'tracking', 'events', 'html'],
          properties: {
            summary: ref('MessageSummary'),
            recipients: {
              type: 'array',
              items: {
                type: 'object',
                required: ['recipient', 'fate', 'headerChanges'],
                properties: {
                  recipient: str,
                  fate: ref('Fate'),
                  headerChanges: {
                    type: 'array',
                    description: 'per node the message passed, the header fields it added, removed or changed, with the reason it traced',
                    items: {
                      type: 'object',
                      required: ['node', 'at', 'kind', 'changes'],
                      properties: {
                        node: str,
                        at: str,
                        kind: { type: 'string', enum: ['submitted', 'received'] },
                        changes: {
                          type: 'array',
                          items: {
                            type: 'object',
                            required: ['kind', 'name', 'value'],
                            properties: { kind: { type: 'string', enum: ['added', 'removed', 'changed'] }, name: str, value: str, previous: str, reason: str },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
            queued: { type: 'array', items: ref('QueuedMessage') },
            raw: { ...strOrNull, description: 'which copy GET …/raw returns, or null when none is held' },
            tracking: { type: 'array', items: ref('TrackingRow') },
            events: { type: 'array', items: { type: 'object' }, description: "the message's trace events" },
            html: { type: 'string', description: "the HTML report's sequence diagram, verdicts and header diffs per recipient" },
          },
        },
        QueuedMessage: {
          type: 'object',
          required: ['identity', 'messageId', 'fromAddress', 'recipients', 'status', 'size', 'queue', 'retryCount', 'dateReceived', 'nextRetryTime'],
          properties: {
            identity: str,
            messageId: str,
            fromAddress: str,
            recipients: { type: 'array', items: str },
            status: { type: 'string', enum: ['Ready', 'Retry'] },
            size: int,
            queue: str,
            lastError: strOrNull,
            lastErrorReason: strOrNull,
            retryCount: int,
            dateReceived: str,
            nextRetryTime: str,
            node: str,
          },
        },
        Queue: {
          type: 'object',
          required: ['identity', 'deliveryType', 'nextHopDomain', 'nextHop', 'status', 'messageCount', 'messages'],
          properties: {
            identity: str,
            deliveryType: str,
            connector: str,
            nextHopDomain: str,
            nextHop: { type: 'string', description: 'the queue key POST …/queues/retry takes' },
            status: { type: 'string', enum: ['Ready', 'Retry', 'Suspended'] },
            messageCount: int,
            lastError: strOrNull,
            nextRetryTime: strOrNull,
            messages: { type: 'array', items: ref('QueuedMessage') },
          },
        },
        Queues: { type: 'object', required: ['node', 'queues'], properties: { node: str, queues: { type: 'array', items: ref('Queue') } } },
        Mailboxes: {
          type: 'object',
          required: ['node', 'mailboxes'],
          properties: {
            node: str,
            mailboxes: {
              type: 'array',
              items: {
                type: 'object',
                required: ['address', 'folders'],
                properties: {
                  address: str,
                  folders: {
                    type: 'array',
                    items: {
                      type: 'object',
                      required: ['name', 'count', 'messages'],
                      properties: {
                        name: str,
                        count: int,
                        messages: {
                          type: 'array',
                          items: {
                            type: 'object',
                            required: ['messageId', 'from', 'deliveredAt', 'size'],
                            properties: { messageId: str, from: str, subject: strOrNull, deliveredAt: str, size: int },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
        TrackingRow: {
          type: 'object',
          required: ['timestamp', 'eventId', 'source', 'server', 'messageId', 'recipients', 'eventIndex'],
          properties: {
            timestamp: str,
            eventId: str,
            source: str,
            server: str,
            serverHostname: strOrNull,
            serverIp: strOrNull,
            clientIp: strOrNull,
            clientHostname: strOrNull,
            connectorId: strOrNull,
            messageId: str,
            sender: strOrNull,
            recipients: { type: 'array', items: str },
            recipientStatus: strOrNull,
            messageSubject: strOrNull,
            directionality: strOrNull,
            eventIndex: int,
          },
        },
        TrackingPage: {
          type: 'object',
          required: ['total', 'offset', 'limit', 'rows'],
          properties: { total: int, offset: int, limit: int, rows: { type: 'array', items: ref('TrackingRow') } },
        },
        SendRequest: {
          type: 'object',
          additionalProperties: false,
          required: ['node', 'from', 'to'],
          properties: {
            node: { type: 'string', description: 'the node whose user sends' },
            from: { type: 'string', description: 'envelope sender and From:, or "" for the null sender' },
            to: { type: 'array', minItems: 1, maxItems: 100, items: str },
            subject: { type: 'string', maxLength: 900 },
            body: { type: 'string', maxLength: 32768 },
          },
        },
        Stats: {
          type: 'object',
          required: ['pid', 'rssBytes', 'events', 'messages', 'queued'],
          properties: {
            pid: { type: 'integer', description: 'the process of relaylab up, whose memory this is' },
            rssBytes: { type: 'integer', minimum: 0, description: 'resident memory of the whole process' },
            events: int,
            messages: { type: 'integer', minimum: 0, description: 'messages the view lists' },
            queued: { type: 'object', additionalProperties: int, description: 'per node, the messages its queues hold' },
          },
        },
        StatesRequest: {
          type: 'object',
          additionalProperties: false,
          required: ['messageIds'],
          properties: { messageIds: { type: 'array', minItems: 1, maxItems: 500, items: str, description: 'Message-IDs with their angle brackets' } },
        },
        States: {
          type: 'object',
          required: ['messages'],
          properties: {
            messages: {
              type: 'array',
              items: {
                type: 'object',
                required: ['messageId', 'known', 'hops', 'states', 'queuedAt'],
                properties: {
                  messageId: str,
                  known: { type: 'boolean', description: 'false: the lab never took it in, or it is older than the messages the view keeps' },
                  hops: {
                    type: 'array',
                    description: 'each node that took the message in (submitted, received, restored from its queue), oldest first',
                    items: {
                      type: 'object',
                      required: ['node', 'type', 'at', 'realAt'],
                      properties: { node: str, type: str, at: { type: 'string', description: 'lab time' }, realAt: { ...strOrNull, description: 'real time' } },
                    },
                  },
                  states: {
                    type: 'array',
                    items: {
                      type: 'object',
                      required: ['recipient', 'state', 'node'],
                      properties: {
                        recipient: str,
                        state: { type: 'string', enum: ['delivered', 'rejected', 'deferred', 'bounced', 'deleted', 'handedOff', 'unaccounted'] },
                        node: strOrNull,
                      },
                    },
                  },
                  queuedAt: { type: 'array', items: str, description: 'nodes whose queues hold it now' },
                },
              },
            },
          },
        },
        AdvanceRequest: {
          type: 'object',
          additionalProperties: false,
          description: 'exactly one of ms or duration',
          properties: { ms: int, duration: { type: 'string', description: 'such as 90s, 15m, 1h, 2d', pattern: '^\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)$' } },
        },
        FaultRequest: {
          type: 'object',
          required: ['fault'],
          properties: {
            fault: { type: 'string', enum: ['fail', 'dropDuringData', 'tlsHandshakeFails', 'slow', 'heal'] },
            command: { type: 'string', enum: ['EHLO', 'STARTTLS', 'MAIL', 'RCPT', 'DATA'] },
            reply: { type: 'string', description: 'for fail: a 4xx or 5xx SMTP reply' },
            times: { type: 'integer', minimum: 1 },
            delayMs: { type: 'integer', minimum: 0, maximum: 30000 },
          },
        },
      },
    },
  };
}
