import * as fs from 'fs';
import * as path from 'path';
import Ajv, { type ValidateFunction } from 'ajv';
import { parseDuration, type Topology } from '@relaylab/core';
import { documentTopology, mergePatch, readYamlFile, reporter, reportSchemaErrors, ScenarioFileError, sortIssues, type FileIssue } from '../loader';
import { checkNamedListPatches } from '../named-list-patch';
import type { Step } from '../scenario-model';
import { didYouMean, validateTopology, type Report } from '../validate';
import type { FieldPath } from '../yaml-positions';
import { certificatePatch, connectorPatch, nodesChangedBy } from './plan-changes';
import type { Bound, Checkpoint, Direction, DirectionCheck, Plan, PlanChange } from './plan-model';

/** A plan as written, after the schema. */
interface PlanDocument {
  name?: string;
  description?: string;
  topology: string | Topology;
  patch?: object;
  duration: string;
  dnsTtl?: string;
  messageSize?: number;
  traffic: Record<string, { from: string; sender?: string; to: string; every?: string; perHour?: number; start?: string }>;
  timeline?: Array<Record<string, unknown> & { at: string; say?: string; drainsWithin?: string }>;
  checkpoints: Array<{
    at: string;
    name?: string;
    bounced?: number | string;
    deferred?: number | string;
    queued?: number | string;
    deleted?: number | string;
    directions?: Record<string, Record<string, unknown>>;
  }>;
}

const FAULTS = ['down', 'up', 'heal', 'fail', 'dropDuringData', 'tlsHandshakeFails', 'slow', 'stripStartTls'] as const;
const ACTIONS = ['set', 'add', 'remove', 'dns', 'certificate', 'patch', ...FAULTS];

let compiled: { plan: ValidateFunction; topology: ValidateFunction } | undefined;

/** The plan schema and the topology schema it refers to, compiled once. */
function schemas(): { plan: ValidateFunction; topology: ValidateFunction } {
  if (compiled) return compiled;
  const dir = [path.resolve(__dirname, '../../schemas'), path.resolve(__dirname, '../../../../schemas')].find((d) =>
    fs.existsSync(path.join(d, 'plan.schema.json')),
  );
  if (!dir) throw new Error(`relaylab: plan.schema.json is missing from ${path.resolve(__dirname, '../../schemas')}; reinstall @relaylab/lab`);
  const read = (name: string): object => JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as object;
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true, code: { optimize: false }, inlineRefs: false });
  ajv.addSchema(read('topology.schema.json'), 'topology.schema.json');
  ajv.addSchema(read('scenario.schema.json'), 'scenario.schema.json');
  return (compiled = { plan: ajv.compile(read('plan.schema.json')), topology: ajv.getSchema('topology.schema.json') as ValidateFunction });
}

/** `5`, `<= 5`, `>= 5`, and for shares `95%` (at least), `>= 95%`, `<= 10%`; the schema has checked the shape. */
export function parseBound(written: number | string, share = false): Bound {
  const text = String(written);
  const m = /^(<=|>=)?\s*(\d+(?:\.\d+)?)(%?)$/.exec(text.trim())!;
  const value = Number(m[2]) / (share ? 100 : 1);
  const op = (m[1] as Bound['op'] | undefined) ?? (share ? '>=' : '=');
  return { op, value, text };
}

export function holds(bound: Bound, actual: number): boolean {
  const eps = 1e-9;
  return bound.op === '=' ? Math.abs(actual - bound.value) < eps : bound.op === '<=' ? actual <= bound.value + eps : actual >= bound.value - eps;
}

/**
 * Reads a change plan with the same error quality as a scenario: every problem with its file,
 * line, field and what was expected. Each topology change of the timeline is applied in order
 * and the topology it leaves is checked whole, so a plan that would break the lab mid-way is
 * refused before anything starts.
 */
export function loadPlanFile(file: string): Plan {
  const source = readYamlFile(file);
  const issues: FileIssue[] = [...source.issues];
  if (!source.parsed) throw new ScenarioFileError(file, issues);
  const report = reporter(file, source.parsed, issues);
  const schemaOk = reportSchemaErrors(schemas().plan, source.parsed, report);
  const document = source.parsed.value as PlanDocument;
  const found = documentTopology(file, source.parsed.value, schemaOk, report, issues);
  let topology = found.topology;
  const topologyFile = found.topologyFile;
  if (!schemaOk || !topology || issues.length) throw new ScenarioFileError(file, sortIssues(issues));
  if (document.patch) topology = applyPatch(topology, document.patch, ['patch'], report);

  const durationMs = parseDuration(document.duration)!;
  const directions = readDirections(document, topology, durationMs, report);
  const timeline = readTimeline(document, topology, durationMs, report);
  const checkpoints = [...readCheckpoints(document, directions, topology, report), ...drainCheckpoints(document)].sort((a, b) => a.atMs - b.atMs);
  if (issues.length) throw new ScenarioFileError(file, sortIssues(issues));
  return {
    file,
    name: document.name ?? path.basename(file, path.extname(file)),
    ...(document.description !== undefined && { description: document.description }),
    topology,
    ...(topologyFile !== undefined && { topologyFile }),
    durationMs,
    dnsTtlMs: document.dnsTtl ? parseDuration(document.dnsTtl)! : 3_600_000,
    messageSize: document.messageSize ?? 2048,
    directions,
    timeline,
    checkpoints,
  };
}

/** The patched topology, checked whole; what is wrong is reported where the patch is written. */
function applyPatch(topology: Topology, patch: object, at: FieldPath, report: Report): Topology {
  const here: Report = (field, message, atKey) => report([...at, ...field], message, atKey);
  checkNamedListPatches(patch, topology, here, []);
  const patched = mergePatch(topology, patch) as Topology;
  let ok = true;
  const counting: Report = (field, message, atKey) => {
    ok = false;
    here(field, message, atKey);
  };
  const sandbox = { doc: undefined, lineCounter: undefined, value: patched, syntaxErrors: [] } as unknown as Parameters<typeof reportSchemaErrors>[1];
  if (reportSchemaErrors(schemas().topology, sandbox, counting)) validateTopology(patched, counting);
  return ok ? patched : topology;
}

function readDirections(document: PlanDocument, topology: Topology, durationMs: number, report: Report): Direction[] {
  const out: Direction[] = [];
  for (const [name, d] of Object.entries(document.traffic)) {
    const at: FieldPath = ['traffic', name];
    const spec = topology.nodes[d.from];
    if (!spec) {
      const hint = didYouMean(d.from, Object.keys(topology.nodes));
      report(
        [...at, 'from'],
        `no node named "${d.from}" in the topology${hint ? ` (did you mean "${hint}"?)` : ` (nodes: ${Object.keys(topology.nodes).join(', ')})`}`,
      );
      continue;
    }
    const sender = d.sender ?? spec.mailboxes?.[0];
    if (!sender) {
      report(at, `node ${d.from} has no mailbox to send from: give a sender`);
      continue;
    }
    if ((d.every === undefined) === (d.perHour === undefined)) {
      report(at, `a direction gives its rate as one of every or perHour; found ${d.every === undefined ? 'neither' : 'both'}`);
      continue;
    }
    const intervalMs = d.every ? parseDuration(d.every)! : 3_600_000 / d.perHour!;
    if (intervalMs < 1000)
      report([...at, d.every ? 'every' : 'perHour'], `expected at most one message a second per direction; found one every ${intervalMs} ms`);
    const startMs = d.start ? parseDuration(d.start)! : 0;
    if (startMs >= durationMs) report([...at, 'start'], `starts at or after the end of the rehearsal (${document.duration}): it would send nothing`);
    out.push({ name, from: d.from, sender, to: d.to, intervalMs, startMs });
  }
  return out;
}

function readTimeline(document: PlanDocument, initial: Topology, durationMs: number, report: Report): PlanChange[] {
  let topology = initial;
  const changes: PlanChange[] = [];
  // Applied in lab-time order (stable for equal times), each to the topology the earlier ones left.
  const order = (document.timeline ?? []).map((c, i) => ({ c, i, atMs: parseDuration(c.at)! })).sort((x, y) => x.atMs - y.atMs || x.i - y.i);
  for (const { c, i, atMs } of order) {
    const at: FieldPath = ['timeline', i];
    const here =
      (kind: string): Report =>
      (field, message, atKey) =>
        report([...at, kind, ...field], message, atKey);
    const actions = Object.keys(c).filter((k) => ACTIONS.includes(k));
    if (actions.length !== 1) {
      report(at, `a change does one thing; found ${actions.length ? actions.join(', ') : 'no action'} (one of ${ACTIONS.join(', ')})`);
      continue;
    }
    if (atMs > durationMs) report([...at, 'at'], `after the end of the rehearsal (${document.duration})`);
    const kind = actions[0]!;
    const value = c[kind];
    const say = c.say ?? describeChange(kind, value);
    if (kind === 'dns') {
      const d = value as { mx?: Record<string, unknown>; a?: Record<string, unknown>; ttl?: string };
      // The made-up patch has `dns` at its top, as the change does: problems are shown where the change writes them.
      topology = applyPatch(topology, { dns: { ...(d.mx && { mx: d.mx }), ...(d.a && { a: d.a }) } }, at, report);
      changes.push({
        atMs,
        say,
        kind: 'dns',
        dns: topology.dns ?? {},
        changed: [...Object.keys(d.mx ?? {}), ...Object.keys(d.a ?? {})],
        ttlMs: d.ttl ? parseDuration(d.ttl)! : 0,
      });
      continue;
    }
    if ((FAULTS as readonly string[]).includes(kind)) {
      const nodes =
        typeof value === 'string' ? [value] : [(value as { node?: string; from?: string }).node ?? '', (value as { to?: string }).to ?? ''].filter(Boolean);
      for (const n of nodes) if (!topology.nodes[n]) here(kind)([], `no node named "${n}" in the topology (nodes: ${Object.keys(topology.nodes).join(', ')})`);
      const step = (typeof value === 'string' ? { kind, node: value } : { kind, ...(value as object) }) as Step;
      changes.push({ atMs, say, kind: 'step', step });
      continue;
    }
    let patch: object | undefined;
    if (kind === 'set' || kind === 'add' || kind === 'remove') patch = connectorPatch(kind, value as Record<string, unknown>, topology, here(kind));
    else if (kind === 'certificate') patch = certificatePatch(value as Record<string, unknown>, topology, here(kind));
    else patch = value as object;
    if (!patch) continue;
    let ok = true;
    const after = applyPatch(topology, patch, [...at, kind], (f, m, k) => {
      ok = false;
      // A patch made from set/add/remove/certificate is reported at the change, not inside the made-up patch.
      report(kind === 'patch' ? f : [...at, kind], m, k && kind === 'patch');
    });
    if (!ok) continue;
    const nodes = nodesChangedBy(topology, after);
    // A Postfix node is configured from files when it starts; remaking it mid-run is not supported yet.
    const postfix = nodes.filter((n) => after.nodes[n]?.implementation === 'postfix');
    if (postfix.length)
      report(
        [...at, kind],
        `this change would restart ${postfix.join(', ')}, which run${postfix.length > 1 ? '' : 's'} Postfix: a rehearsal changes only relaylab's own nodes`,
      );
    topology = after;
    changes.push({ atMs, say, kind: 'topology', topology, nodes });
  }
  return changes;
}

/** `drainsWithin: 30m` on a change: a checkpoint 30 minutes later at which nothing of the traffic is still queued. */
function drainCheckpoints(document: PlanDocument): Checkpoint[] {
  return (document.timeline ?? []).flatMap((c) => {
    if (!c.drainsWithin) return [];
    const atMs = parseDuration(c.at)!;
    const kind = Object.keys(c).find((k) => ACTIONS.includes(k));
    const say = c.say ?? (kind ? describeChange(kind, c[kind]) : c.at);
    return [
      {
        atMs: atMs + parseDuration(c.drainsWithin)!,
        name: `queued mail drains within ${c.drainsWithin} of "${say}"`,
        queued: parseBound(0),
        directions: {},
        generated: true,
      },
    ];
  });
}

function describeChange(kind: string, value: unknown): string {
  const v = value as Record<string, unknown>;
  switch (kind) {
    case 'set':
    case 'add':
    case 'remove': {
      const which = Object.keys(v).find((k) => k !== 'node' && /Connector$|transportRule/.test(k)) ?? '';
      const name = typeof v[which] === 'string' ? v[which] : (v[which] as { Name?: string } | undefined)?.Name;
      const params =
        kind === 'set'
          ? ` ${Object.entries(v)
              .filter(([k]) => k !== 'node' && k !== which)
              .map(([k, x]) => `-${k} ${JSON.stringify(x)}`)
              .join(' ')}`
          : '';
      const verb = { set: 'Set', add: 'New', remove: 'Remove' }[kind];
      return `${v.node}: ${verb}-${which[0]?.toUpperCase()}${which.slice(1)} "${String(name)}"${params}`;
    }
    case 'dns':
      return `DNS: ${Object.entries({ ...((v.mx as object) ?? {}), ...((v.a as object) ?? {}) })
        .map(([k, x]) => `${k} → ${JSON.stringify(x)}`)
        .join(', ')}${v.ttl ? ` (TTL ${String(v.ttl)})` : ''}`;
    case 'certificate':
      return `certificate ${String(v.name)}: ${Object.entries(v)
        .filter(([k]) => k !== 'name')
        .map(([k, x]) => `${k} ${JSON.stringify(x)}`)
        .join(', ')}`;
    case 'patch':
      return 'topology patched';
    default:
      return typeof value === 'string' ? `${kind} ${value}` : `${kind} ${JSON.stringify(value)}`;
  }
}

function readCheckpoints(document: PlanDocument, directions: Direction[], topology: Topology, report: Report): Checkpoint[] {
  const names = directions.map((d) => d.name);
  const nodes = Object.keys(topology.nodes);
  const out: Checkpoint[] = [];
  let last = -1;
  document.checkpoints.forEach((c, i) => {
    const at: FieldPath = ['checkpoints', i];
    const atMs = parseDuration(c.at)!;
    if (atMs <= last) report([...at, 'at'], `checkpoints go in lab-time order; this one is not after the one before it`);
    last = Math.max(last, atMs);
    const checks: Record<string, DirectionCheck> = {};
    for (const [name, d] of Object.entries(c.directions ?? {})) {
      if (!names.includes(name)) {
        const hint = didYouMean(name, names);
        report(
          [...at, 'directions', name],
          `no direction named "${name}" under traffic${hint ? ` (did you mean "${hint}"?)` : ` (directions: ${names.join(', ')})`}`,
          true,
        );
        continue;
      }
      const check: DirectionCheck = {};
      if (d.delivered !== undefined) {
        check.delivered = parseBound(d.delivered as string, true);
        if (check.delivered.op === '>=' && check.delivered.value === 0)
          report([...at, 'directions', name, 'delivered'], 'at least 0% always holds; to assert that mail is not delivered write "<= 0%"');
      }
      if (d.maxDelay !== undefined) {
        check.maxDelayMs = parseDuration(d.maxDelay as string)!;
        check.maxDelayText = d.maxDelay as string;
      }
      if (d.authAs !== undefined) check.authAs = d.authAs as string;
      if (d.sfv !== undefined) check.sfv = d.sfv as string;
      for (const k of ['bounced', 'deferred', 'queued', 'deleted'] as const) if (d[k] !== undefined) check[k] = parseBound(d[k] as number | string);
      if (d.via) {
        check.via = {};
        for (const [node, b] of Object.entries(d.via as Record<string, number | string>)) {
          if (!nodes.includes(node))
            report([...at, 'directions', name, 'via', node], `no node named "${node}" in the topology (nodes: ${nodes.join(', ')})`, true);
          check.via[node] = parseBound(b);
        }
      }
      checks[name] = check;
    }
    out.push({
      atMs,
      name: c.name ?? `at ${c.at}`,
      ...(c.bounced !== undefined && { bounced: parseBound(c.bounced) }),
      ...(c.deferred !== undefined && { deferred: parseBound(c.deferred) }),
      ...(c.queued !== undefined && { queued: parseBound(c.queued) }),
      ...(c.deleted !== undefined && { deleted: parseBound(c.deleted) }),
      directions: checks,
    });
  });
  return out;
}
