import { openConnection, sendMessage } from '@relaylab/mta';
import { checkPaths, loadMessage, pathPicker, summarize, type LoadPath, type LoadSummary } from './load';
import { LoadTracker, type ObservedEvent } from './load-stats';
import { InputError, StartError } from './shared';
import { unreachable, webCaller, type Json, type WebTarget } from './web-client';

/**
 * `relaylab load --web`: the same run against a lab that `relaylab up` keeps running, through its
 * web API (docs/web.md). The messages enter as they would from outside the process: over SMTP,
 * or through the API's send action. What happens to them is read from the lab's event stream
 * (GET /api/events, each event stamped by the lab when it recorded it), where the ones still open
 * at the end are from POST /api/messages/states, and queues and memory from GET /api/stats.
 */

export type Entry = 'smtp' | 'api';

export interface RemoteLoadOptions {
  target: WebTarget;
  /** The topology file given beside --web: the running lab must have its nodes. */
  topologyFile?: string;
  topologyNodes?: string[];
  paths: LoadPath[];
  entry: Entry;
  messages: number;
  concurrency: number;
  size: number;
  timeoutMs: number;
  progress?(done: number, total: number): void;
}

/** The API's send action takes a text body of at most this many characters (api.ts, MAX_TEXT_BODY). */
export const API_MAX_BODY = 32 * 1024;
/** The client's EHLO name: a program on this machine, not one of the lab's nodes. */
const CLIENT_NAME = 'relaylab-load.localhost';
const STATES_BATCH = 500;
/**
 * SMTP sessions open at once to one node, as a sending program's pool keeps them: well under
 * Exchange's MaxInboundConnectionPerSource (20 on a front end), which answers more with 421.
 */
const ENTRY_CONNECTIONS = 10;
/** Tries of a message the node refused for now (4xx, no connection) before it counts as refused. */
const ENTRY_TRIES = 5;

/** At most `free` holders at once; the rest wait in turn. */
class Slots {
  private readonly waiting: Array<() => void> = [];
  constructor(private free: number) {}
  async take(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }
  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

interface LabNode {
  name: string;
  hostname: string;
  address: string;
  port: number;
  mailboxes: string[];
}

/**
 * Follows GET /api/events. Resolves once the stream is open (the lab has subscribed us: every
 * event from then on reaches `onEvent`); `closed` settles when the stream ends, which before
 * `stop()` means the lab went away.
 */
async function follow(target: WebTarget, onEvent: (e: ObservedEvent & { t: number }) => void) {
  const abort = new AbortController();
  let res: Response;
  try {
    res = await fetch(`http://${target.web}/api/events`, { headers: { authorization: `Bearer ${target.token}` }, signal: abort.signal });
  } catch (err) {
    throw unreachable(target, err);
  }
  if (!res.ok || !res.body) {
    const answer = (await res.json().catch(() => ({}))) as Json;
    throw new StartError(`GET /api/events: ${res.status} ${answer.error ?? res.statusText}`);
  }
  let stopping = false;
  const closed = (async () => {
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data) onEvent(JSON.parse(data.slice(6)) as ObservedEvent & { t: number });
        }
      }
    } catch (err) {
      if (!stopping) throw err;
    }
  })();
  return {
    closed,
    stop: () => {
      stopping = true;
      abort.abort();
    },
  };
}

/** The body a user would type: lines of text up to `size` bytes in all with the headers the lab adds. */
function apiBody(size: number): string {
  const line = `${'x'.repeat(76)}\n`;
  return line.repeat(Math.max(1, Math.floor((size - 300) / line.length)));
}

export async function runRemoteLoad(options: RemoteLoadOptions): Promise<LoadSummary> {
  const call = webCaller(options.target);
  const lab = (await call('GET', '/api/lab')) as { name: string; nodes: LabNode[] };
  const nodes = new Map(lab.nodes.map((n) => [n.name, n]));
  if (options.topologyNodes) {
    const missing = options.topologyNodes.filter((n) => !nodes.has(n));
    if (missing.length)
      throw new InputError(
        `the lab at ${options.target.web} (${lab.name}) is not ${options.topologyFile}: it has no node ${missing.join(', ')} (its nodes: ${[...nodes.keys()].join(', ')})`,
      );
  }
  const paths = checkPaths(Object.fromEntries(lab.nodes.map((n) => [n.name, n])), options.paths);

  const tracker = new LoadTracker();
  // API mode learns a Message-ID from the 202, after the lab may already have traced the message:
  // events of Message-IDs not (yet) expected wait here, the latest few thousand, to be replayed.
  const early = new Map<string, Array<[ObservedEvent, number]>>();
  const stream = await follow(options.target, (e) => {
    if (e.messageId === undefined) return;
    if (tracker.expects(e.messageId)) return tracker.observe(e, e.t);
    const list = early.get(e.messageId) ?? [];
    list.push([e, e.t]);
    early.set(e.messageId, list);
    if (early.size > 5000) early.delete(early.keys().next().value!);
  });
  let streamError: unknown;
  stream.closed.then(
    () => (streamError ??= new StartError(`the event stream of ${options.target.web} ended: did \`relaylab up\` stop?`)),
    (err: unknown) => (streamError ??= err),
  );

  const queuePeak: Record<string, number> = Object.fromEntries([...nodes.keys()].map((n) => [n, 0]));
  let peakRss = 0;
  let pid = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const s = (await call('GET', '/api/stats').catch((err: unknown) => void (streamError ??= err))) as Json;
      if (s) {
        pid = s.pid;
        peakRss = Math.max(peakRss, s.rssBytes);
        for (const [n, q] of Object.entries(s.queued as Record<string, number>)) queuePeak[n] = Math.max(queuePeak[n] ?? 0, q);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const reporter = options.progress && setInterval(() => options.progress!(tracker.finished, options.messages), 200);

  /** Replies of the node a message entered at, when it did not take the message: counted as refused. */
  const refusals: Record<string, number> = {};
  const refuse = (messageId: string, reply: string) => {
    tracker.settle(messageId, 'refused');
    const key = reply.replace(/\s+/g, ' ').trim().slice(0, 120);
    refusals[key] = (refusals[key] ?? 0) + 1;
  };

  const slots = new Map([...nodes.keys()].map((n) => [n, new Slots(ENTRY_CONNECTIONS)]));
  /** One SMTP session, its reply when the message was not taken (undefined: taken); 4xx and a failed connection are temporary. */
  const attempt = async (path: (typeof paths)[number], m: { raw: Buffer }): Promise<{ reply: string; temporary: boolean } | undefined> => {
    const node = nodes.get(path.from)!;
    let open;
    try {
      open = await openConnection({ host: node.address, port: node.port, servername: node.hostname, localAddress: '127.0.0.1', ehloName: CLIENT_NAME });
    } catch (err) {
      const reply = (err as Error & { response?: string }).response ?? (err as Error).message;
      return { reply, temporary: !/^5/.test(reply) };
    }
    try {
      const r = await sendMessage(open.connection, path.sender, [path.to], m.raw);
      if (r.ok && !r.rejected.length) return undefined;
      const reply = r.rejectedResponses[path.to] ?? r.response;
      return { reply, temporary: r.connectionLost || !/^5/.test(reply) };
    } finally {
      open.connection.quit();
    }
  };
  const sendSmtp = async (path: (typeof paths)[number], m: { messageId: string; raw: Buffer }) => {
    const slot = slots.get(path.from)!;
    // A temporary refusal (421 over the node's connections per source, say) is tried again later,
    // as a sending program would; a permanent one, or the last temporary one, counts as refused.
    for (let tries = 1; ; tries++) {
      await slot.take();
      const failed = await attempt(path, m).finally(() => slot.give());
      if (!failed) return;
      if (!failed.temporary || tries >= ENTRY_TRIES || Date.now() >= deadline) return refuse(m.messageId, failed.reply);
      await new Promise((r) => setTimeout(r, 100 * 2 ** tries));
    }
  };
  const sendApi = async (path: (typeof paths)[number], i: number, expectId: (id: string) => void) => {
    const r = await call('POST', '/api/messages', {
      node: path.from,
      from: path.sender,
      to: [path.to],
      subject: `relaylab load ${i}`,
      body: apiBody(options.size),
    });
    expectId(r.messageId);
  };

  const run = Date.now().toString(36);
  const pick = pathPicker(paths);
  const started = performance.now();
  const deadline = Date.now() + options.timeoutMs;
  const inFlight = new Set<string>();
  let sent = 0;
  const sending = new Set<Promise<void>>();
  const check = () => {
    if (streamError) throw streamError;
  };
  try {
    for (let i = 0; i < options.messages; i++) {
      while (inFlight.size + (options.entry === 'api' ? sending.size : 0) >= options.concurrency && Date.now() < deadline) {
        check();
        await new Promise((r) => setTimeout(r, 2));
        for (const id of inFlight) if (tracker.isFinal(id)) inFlight.delete(id);
      }
      check();
      if (Date.now() >= deadline) break;
      const path = paths[pick(i)]!;
      let task: Promise<void>;
      if (options.entry === 'smtp') {
        const m = loadMessage(run, i, path.sender, path.to, options.size);
        tracker.expect(m.messageId);
        inFlight.add(m.messageId);
        task = sendSmtp(path, m);
      } else {
        task = sendApi(path, i, (id) => {
          tracker.expect(id);
          inFlight.add(id);
          for (const [e, t] of early.get(id) ?? []) tracker.observe(e, t);
          early.delete(id);
        });
      }
      sent++;
      const settled: Promise<void> = task.catch((err: unknown) => void (streamError ??= err)).finally(() => sending.delete(settled));
      sending.add(settled);
    }
    await Promise.all(sending);
    check();
    // Wait for final states; stop early once what is still open sits in a queue (deferred until
    // a retry the run will not wait for) and nothing has moved for a second.
    let last = -1;
    let still = 0;
    while (tracker.finished < sent && Date.now() < deadline) {
      check();
      await new Promise((r) => setTimeout(r, 100));
      if (tracker.finished !== last) {
        last = tracker.finished;
        still = 0;
      } else if (++still >= 10) {
        still = 0;
        const open = tracker.open();
        if ((await heldInQueues(call, open)).size === open.length) break;
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const held = (await heldInQueues(call, tracker.open())).size;
    return summarize(
      {
        topology: options.topologyFile ?? `${lab.name} at ${options.target.web}`,
        lab: { web: options.target.web, name: lab.name, entry: options.entry },
        paths,
        messages: options.messages,
        concurrency: options.concurrency,
        size: options.size,
        queuePeak,
        refusals,
        peakRssBytes: peakRss,
        rssOf: `relaylab up (pid ${pid}), sampled every 100 ms`,
      },
      tracker,
      held,
      seconds,
    );
  } finally {
    sampling = false;
    if (reporter) clearInterval(reporter);
    stream.stop();
    await sampler;
  }
}

/** Of these Message-IDs, the ones a node's queue holds now. */
async function heldInQueues(call: ReturnType<typeof webCaller>, ids: string[]): Promise<Set<string>> {
  const held = new Set<string>();
  for (let i = 0; i < ids.length; i += STATES_BATCH) {
    const r = (await call('POST', '/api/messages/states', { messageIds: ids.slice(i, i + STATES_BATCH) })) as Json;
    for (const m of r.messages) if (m.queuedAt.length) held.add(m.messageId);
  }
  return held;
}
