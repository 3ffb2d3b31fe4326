import { WEB_PORT } from '../web/server';
import { guarded, parseWithEnv, UsageError, type Io } from './shared';
import { webCaller, webTarget, WEB_OPTIONS, type Json } from './web-client';

export const CTL_HELP = `Usage: relaylab ctl <action> [arguments] [options]

Drives a lab that \`relaylab up\` keeps running, through its web API (the same actions as its
web view; the API is described at http://127.0.0.1:${WEB_PORT}/api/openapi.json).

Actions:
  status                         nodes with role, address, health and queued messages
  messages                       the latest messages and where each is now
  send --node <n> --from <a> --to <b>[,<c>...] [--subject <s>] [--body <text>]
                                 a user of node <n> sends a test message; prints its Message-ID
  down <node> | up <node>        take a node down (listener closed, queue kept) or bring it up
  advance <duration>             move the lab clock (90s, 15m, 1h, 2d); queues retry what is due
  queues <node>                  the node's queues as Get-Queue shows them, with their messages
  retry <node> [<next hop>]      Retry-Queue: what waits (for that next hop) is tried now
  tracking [--sender a] [--recipient b] [--message-id id] [--event-id DELIVER]
                                 Get-MessageTrackingLog rows

Options:
  --web <ip:port>        the web API (default 127.0.0.1:${WEB_PORT}, or $RELAYLAB_WEB)
  --certs <dir>          certificate cache holding the lab's control-token (default ./certs,
                         or $RELAYLAB_CERTS)
  --control-token-file <file>  the token file (default <certs>/control-token)
  --json                 print the API's JSON answer as it is
`;

const OPTIONS = {
  ...WEB_OPTIONS,
  json: { type: 'boolean' },
  node: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  subject: { type: 'string' },
  body: { type: 'string' },
  sender: { type: 'string' },
  recipient: { type: 'string' },
  'message-id': { type: 'string' },
  'event-id': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const table = (rows: string[][]) => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
};

export function ctlCommand(args: string[], io: Io): Promise<number> {
  return guarded('ctl', io, CTL_HELP, async () => {
    const { values, positionals } = parseWithEnv(args, OPTIONS, true);
    if (values.help) {
      io.out.write(CTL_HELP);
      return 0;
    }
    const [action, ...rest] = positionals;
    if (!action) throw new UsageError('expects an action: status, messages, send, down, up, advance, queues, retry or tracking');
    const call = webCaller(webTarget(values));
    const arg = (i: number, what: string) => {
      const v = rest[i];
      if (!v) throw new UsageError(`${action} expects ${what}`);
      return v;
    };
    const node = (i = 0) => encodeURIComponent(arg(i, 'a node name'));
    const print = (answer: Json, text: () => string) => io.out.write(`${values.json ? JSON.stringify(answer, null, 2) : text()}\n`);

    switch (action) {
      case 'status': {
        const lab = await call('GET', '/api/lab');
        print(lab, () =>
          [
            `lab ${lab.name}: clock ${lab.now}, ${lab.messages} messages, ${lab.events} events`,
            table([
              ['NODE', 'ROLE', 'ADDRESS', 'HEALTH', 'QUEUED'],
              ...lab.nodes.map((n: Json) => [n.name, n.role, `${n.address}:${n.port}`, n.health, String(n.queued)]),
            ]),
          ].join('\n'),
        );
        return 0;
      }
      case 'messages': {
        const page = await call('GET', '/api/messages?limit=50');
        print(page, () =>
          page.messages.length
            ? page.messages.map((m: Json) => `${m.firstSeen} ${m.messageId} ${m.subject ?? ''}\n    ${m.now}`).join('\n')
            : 'no messages yet',
        );
        return 0;
      }
      case 'send': {
        for (const k of ['node', 'from', 'to'] as const) if (values[k] === undefined) throw new UsageError(`send needs --${k}`);
        const body = {
          node: values.node,
          from: values.from,
          to: (values.to as string).split(',').map((s) => s.trim()),
          ...(values.subject !== undefined && { subject: values.subject }),
          ...(values.body !== undefined && { body: values.body }),
        };
        const r = await call('POST', '/api/messages', body);
        print(r, () => r.messageId);
        return 0;
      }
      case 'down':
      case 'up': {
        const r = await call('POST', `/api/nodes/${node()}/${action}`, {});
        print(r, () => `${rest[0]}: ${r.health}`);
        return 0;
      }
      case 'advance': {
        const r = await call('POST', '/api/clock/advance', { duration: arg(0, 'a duration such as 1h') });
        print(r, () => `lab clock now ${r.now}`);
        return 0;
      }
      case 'queues': {
        const r = await call('GET', `/api/nodes/${node()}/queues`);
        print(r, () =>
          r.queues.length
            ? r.queues
                .map(
                  (q: Json) =>
                    `${q.identity}  ${q.status}  MessageCount ${q.messageCount}  NextRetryTime ${q.nextRetryTime ?? '-'}  LastError ${q.lastError ?? '-'}\n` +
                    q.messages.map((m: Json) => `    ${m.identity}  ${m.fromAddress || '<>'}  ${m.status}  RetryCount ${m.retryCount}`).join('\n'),
                )
                .join('\n')
            : `${rest[0]} has no messages queued`,
        );
        return 0;
      }
      case 'retry': {
        const r = await call('POST', `/api/nodes/${node()}/queues/retry`, rest[1] === undefined ? {} : { nextHop: rest[1] });
        print(r, () => `${r.retried} message(s) due now`);
        return 0;
      }
      case 'tracking': {
        const q = new URLSearchParams({ limit: '200' });
        const filters = { sender: 'sender', recipient: 'recipient', 'message-id': 'messageId', 'event-id': 'eventId' } as const;
        for (const [option, param] of Object.entries(filters))
          if (values[option as keyof typeof filters]) q.set(param, values[option as keyof typeof filters] as string);
        const r = await call('GET', `/api/tracking?${q}`);
        print(r, () =>
          table([
            ['TIMESTAMP', 'EVENTID', 'SOURCE', 'SERVER', 'SENDER', 'RECIPIENTS', 'MESSAGEID'],
            ...r.rows.map((x: Json) => [x.timestamp, x.eventId, x.source, x.server, x.sender ?? '', x.recipients.join(','), x.messageId]),
          ]),
        );
        return 0;
      }
      default:
        throw new UsageError(`unknown action "${action}"; expected status, messages, send, down, up, advance, queues, retry or tracking`);
    }
  });
}
