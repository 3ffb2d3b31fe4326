/**
 * Checks that a schema cannot express: cross references, uniqueness, and hostile header content.
 * Input has already passed the JSON schema, so its shape is trusted here.
 */
import { parseByteSize, parseTimeSpan, receiveLimits, ROLE_PRESETS, type NodeSpec, type RoleName, type Topology } from '@relaylab/core';
import type { Expectation, FaultCommandName } from './scenario-model';
import { checkAuthoritiesAndTls } from './validate-tls';
import { checkPostfixNode } from './validate-postfix';
import { checkPassThroughNode } from './validate-passthrough';
import { checkTransportService } from './validate-transport-service';
import { checkLabTimeWindows } from './lab-time';
import type { FieldPath } from './yaml-positions';

/** Records one problem at `path`; `atKey` points at the field's name instead of its value. */
export type Report = (path: FieldPath, message: string, atKey?: boolean) => void;

/** A scenario file as written, after the schema: `topology` may still be a path, `to` a string. */
export interface ScenarioDocument {
  name?: string;
  description?: string;
  topology: string | Topology;
  messages: MessageDocument[];
  advance?: string;
  steps?: StepDocument[];
  patch?: Record<string, unknown>;
  expect: Expectation[];
}

/** A step as written: `settle`, or a mapping with exactly one key (the schema sees to that). */
export type StepDocument =
  | 'settle'
  | { send: string }
  | { advance: string }
  | { settle: null }
  | { down: string }
  | { up: string }
  | { heal: string }
  | { fail: { node: string; command: FaultCommandName; reply: string; times?: number } }
  | { dropDuringData: { node: string; times?: number } }
  | { tlsHandshakeFails: { node: string; times?: number } }
  | { stripStartTls: { from: string; to: string } }
  | { slow: { node: string; delayMs: number } };

export interface MessageDocument {
  id: string;
  from: string;
  to: string | string[];
  via: string;
  subject?: string;
  headers?: Record<string, string>;
  body?: string;
  raw?: string;
}

const CONNECTOR_LISTS = ['inboundConnectors', 'outboundConnectors', 'receiveConnectors', 'sendConnectors'] as const;
const CLOUD_CONNECTORS: ReadonlyArray<(typeof CONNECTOR_LISTS)[number]> = ['inboundConnectors', 'outboundConnectors'];
const SERVER_ROLES: RoleName[] = ['exchange-server', 'edge', 'partner', 'internet', 'appliance', 'device'];

/** `at` is where the topology sits in its file: `[]` in a topology file, `['topology']` inline. */
export function validateTopology(topology: Topology, report: Report, at: FieldPath = []): void {
  const authorities = Object.keys(topology.authorities ?? {});
  const certificates = Object.keys(topology.certificates ?? {});
  const organizations = Object.keys(topology.organizations ?? {});

  if (authorities.includes('self')) {
    report([...at, 'authorities', 'self'], 'the authority name "self" is reserved: a certificate with issuer "self" is self-signed', true);
  }
  for (const [name, cert] of Object.entries(topology.certificates ?? {})) {
    if (cert.issuer !== 'self') {
      checkReference(report, [...at, 'certificates', name, 'issuer'], cert.issuer, authorities, 'authority', 'or "self" for a self-signed certificate');
    }
  }
  checkAuthoritiesAndTls(topology, report, at, checkReference);

  const addressOwners = new Map<string, string>();
  for (const [name, node] of Object.entries(topology.nodes)) {
    const here = [...at, 'nodes', name];
    if (node.organization !== undefined) {
      checkReference(report, [...here, 'organization'], node.organization, organizations, 'organization');
    }
    if (node.certificate !== undefined) {
      checkReference(report, [...here, 'certificate'], node.certificate, certificates, 'certificate');
    }
    node.trust?.forEach((authority, i) => checkReference(report, [...here, 'trust', i], authority, authorities, 'authority'));

    // Every Exchange Online tenant is served by the same EOP hosts, so tenants may share an address.
    const owner = addressOwners.get(node.address);
    const sharedEop = owner !== undefined && node.role === 'exchange-online' && topology.nodes[owner]!.role === 'exchange-online';
    if (owner === undefined) addressOwners.set(node.address, name);
    else if (!sharedEop)
      report(
        [...here, 'address'],
        `nodes "${owner}" and "${name}" both use address ${node.address}; each node needs an address of its own (only exchange-online tenants share EOP's addresses)`,
      );
    if (node.transportRules?.length && !EXCHANGE_ROLES.includes(node.role)) {
      report([...here, 'transportRules'], `mail flow rules run on ${EXCHANGE_ROLES.join(', ')} nodes, not on a ${node.role} node`, true);
    }
    node.transportRules?.forEach((rule, i) => {
      if (!rule.RouteMessageOutboundConnector) return;
      const names = (node.outboundConnectors ?? []).map((c) => c.Name);
      checkReference(report, [...here, 'transportRules', i, 'RouteMessageOutboundConnector'], rule.RouteMessageOutboundConnector, names, 'outbound connector');
    });

    checkConnectorSets(node, here, report);
    checkConnectorNames(node, here, report);
    checkReceiveLimits(node, here, report);
    checkTransportService(node, here, report);
    checkPassThroughNode(topology, name, node, here, report);
    checkPostfixNode(node, here, report);
  }
}

const DAY_MS = 86_400_000;

/** What the schema's patterns let through that New-ReceiveConnector would still refuse. */
function checkReceiveLimits(node: NodeSpec, here: FieldPath, report: Report): void {
  node.receiveConnectors?.forEach((c, i) => {
    const at = [...here, 'receiveConnectors', i];
    // Sizes as Exchange prints them arrive here already in bytes (topology-values), so both forms are checked.
    if (c.MaxMessageSize !== undefined) {
      const bytes = typeof c.MaxMessageSize === 'string' ? parseByteSize(c.MaxMessageSize) : c.MaxMessageSize;
      if (bytes === undefined || bytes < 65_536 || bytes > 2_147_483_647) {
        const shown = typeof c.MaxMessageSize === 'string' ? `"${c.MaxMessageSize}"` : `${c.MaxMessageSize} bytes`;
        report([...at, 'MaxMessageSize'], `MaxMessageSize ${shown} must be from 65536 bytes (64 KB) to 2147483647 bytes`);
      }
    }
    let spansOk = true;
    for (const key of ['ConnectionTimeout', 'ConnectionInactivityTimeout'] as const) {
      const text = c[key];
      if (text === undefined) continue;
      const ms = parseTimeSpan(text);
      if (ms === undefined || ms < 1000 || ms > DAY_MS) {
        spansOk = false;
        report([...at, key], `${key} "${text}" must be a time span from 00:00:01 to 1.00:00:00 ([d.]hh:mm:ss)`);
      }
    }
    if (!spansOk || (c.ConnectionTimeout === undefined && c.ConnectionInactivityTimeout === undefined)) return;
    const limits = receiveLimits(ROLE_PRESETS[node.role].receiveLimits, c);
    if (limits.connectionInactivityTimeoutMs >= limits.connectionTimeoutMs) {
      const key = c.ConnectionInactivityTimeout !== undefined ? 'ConnectionInactivityTimeout' : 'ConnectionTimeout';
      report(
        [...at, key],
        `ConnectionInactivityTimeout (${limits.connectionInactivityTimeoutMs / 1000} s) must be less than ConnectionTimeout (${limits.connectionTimeoutMs / 1000} s)${c[key === 'ConnectionTimeout' ? 'ConnectionInactivityTimeout' : 'ConnectionTimeout'] === undefined ? ", which this connector leaves at its role's default" : ''}`,
      );
    }
  });
}

const EXCHANGE_ROLES = ['exchange-online', 'exchange-server', 'edge'];

function checkConnectorSets(node: NodeSpec, here: FieldPath, report: Report): void {
  const cloud = node.role === 'exchange-online';
  for (const list of CONNECTOR_LISTS) {
    if (node[list] === undefined || CLOUD_CONNECTORS.includes(list) === cloud) continue;
    const message = cloud
      ? `${list} belong to ${SERVER_ROLES.join(', ')} nodes (New-${list === 'sendConnectors' ? 'Send' : 'Receive'}Connector); ` +
        'an exchange-online node has inboundConnectors and outboundConnectors'
      : `${list} belong to exchange-online nodes (New-${list === 'inboundConnectors' ? 'Inbound' : 'Outbound'}Connector); ` +
        `a ${node.role} node has receiveConnectors and sendConnectors`;
    report([...here, list], message, true);
  }
}

function checkConnectorNames(node: NodeSpec, here: FieldPath, report: Report): void {
  // Traces and expectations name connectors without saying which list they are in.
  const seen = new Map<string, string>();
  for (const list of CONNECTOR_LISTS) {
    node[list]?.forEach((connector, i) => {
      const first = seen.get(connector.Name);
      if (first !== undefined) {
        report(
          [...here, list, i, 'Name'],
          `connector name "${connector.Name}" is already used by ${first} on this node; connector names must be unique per node`,
        );
      } else {
        seen.set(connector.Name, `${list}[${i}]`);
      }
    });
  }
}

/** `topology` is undefined when it could not be loaded; node references are then not checked. */
export function validateScenario(scenario: ScenarioDocument, topology: Topology | undefined, report: Report): void {
  const nodes = topology ? Object.keys(topology.nodes) : undefined;
  const checkNode = (path: FieldPath, name: string | undefined): void => {
    if (nodes && name !== undefined) checkReference(report, path, name, nodes, 'node');
  };

  const messages = new Map<string, MessageDocument>();
  scenario.messages.forEach((message, i) => {
    const here = ['messages', i];
    const first = scenario.messages.findIndex((m) => m.id === message.id);
    if (first !== i) report([...here, 'id'], `message id "${message.id}" is already used by messages[${first}]; ids must be unique`);
    else messages.set(message.id, message);
    checkNode([...here, 'via'], message.via);
    if (message.subject !== undefined && /[\r\n]/.test(message.subject)) {
      report([...here, 'subject'], `contains a line break (CR or LF), which would inject header fields; found ${JSON.stringify(message.subject)}`);
    }
    for (const [name, value] of Object.entries(message.headers ?? {})) checkHeader(report, [...here, 'headers', name], name, value);
  });

  checkSteps(scenario, messages, checkNode, report);

  scenario.expect.forEach((expectation, i) => {
    const here = ['expect', i];
    const message = messages.get(expectation.message);
    if (!message) checkReference(report, [...here, 'message'], expectation.message, [...messages.keys()], 'message');
    if (message && expectation.recipient !== undefined) {
      const recipients = typeof message.to === 'string' ? [message.to] : message.to;
      if (!recipients.some((r) => r.toLowerCase() === expectation.recipient?.toLowerCase())) {
        report([...here, 'recipient'], `"${expectation.recipient}" is not a recipient of message "${message.id}"; its recipients are ${recipients.join(', ')}`);
      }
    }
    checkNode([...here, 'node'], expectation.node);
    expectation.path?.forEach((name, j) => checkNode([...here, 'path', j], name));
    expectation.hops?.forEach((hop, j) => {
      checkNode([...here, 'hops', j, 'from'], hop.from);
      checkNode([...here, 'hops', j, 'to'], hop.to);
      hop.via?.forEach((name, k) => checkNode([...here, 'hops', j, 'via', k], name));
      if (hop.replyMatches !== undefined) checkRegExp(report, [...here, 'hops', j, 'replyMatches'], hop.replyMatches);
    });
    expectation.headers?.forEach((header, j) => {
      const at = [...here, 'headers', j];
      const checks = [header.present, header.absent, header.equals, header.matches, header.notEquals, header.count, header.index];
      if (checks.every((c) => c === undefined)) {
        report(at, `header expectation for "${header.name}" checks nothing; expected one of present, absent, equals, matches, notEquals, count, index`);
      }
      if (header.matches !== undefined) checkRegExp(report, [...at, 'matches'], header.matches);
    });
    if (expectation.bodyMatches !== undefined) checkRegExp(report, [...here, 'bodyMatches'], expectation.bodyMatches);
    checkLabTimeWindows(expectation, here, report);
  });
}

/** Steps name messages and nodes; a message is sent once; advance and steps do not mix. */
function checkSteps(
  scenario: ScenarioDocument,
  messages: Map<string, MessageDocument>,
  checkNode: (path: FieldPath, name: string | undefined) => void,
  report: Report,
): void {
  if (!scenario.steps) return;
  if (scenario.advance !== undefined) {
    report(['advance'], 'use either advance or steps, not both: advance is short for steps: [{ advance: ... }]', true);
  }
  const sentAt = new Map<string, number>();
  scenario.steps.forEach((step, i) => {
    const here = ['steps', i];
    if (typeof step === 'string') return;
    const [kind, value] = Object.entries(step)[0] as [string, unknown];
    const at = [...here, kind];
    if (kind === 'send') {
      const id = value as string;
      if (!messages.has(id)) return checkReference(report, at, id, [...messages.keys()], 'message');
      const first = sentAt.get(id);
      if (first !== undefined) report(at, `message "${id}" is already sent by steps[${first}]; each message is sent once`);
      else sentAt.set(id, i);
    } else if (kind === 'down' || kind === 'up' || kind === 'heal') {
      checkNode(at, value as string);
    } else if (kind === 'stripStartTls') {
      const { from, to } = value as { from: string; to: string };
      checkNode([...at, 'from'], from);
      checkNode([...at, 'to'], to);
      if (from === to) report([...at, 'to'], `a man in the middle sits between two different nodes; found "${from}" on both sides`);
    } else if (value && typeof value === 'object' && 'node' in value) {
      checkNode([...at, 'node'], (value as { node: string }).node);
    }
  });
}

function checkRegExp(report: Report, path: FieldPath, source: string): void {
  try {
    new RegExp(source);
  } catch (error) {
    report(path, `expected a regular expression; found ${JSON.stringify(source)} (${(error as Error).message})`);
  }
}

function checkHeader(report: Report, path: FieldPath, name: string, value: string): void {
  // A line break in a header name or value would let a scenario smuggle extra header fields
  // (or a premature body) past the node that builds the message.
  if (/[\r\n]/.test(name)) {
    report(path, `header name contains a line break (CR or LF), which would inject header fields; found ${JSON.stringify(name)}`, true);
  } else if (!/^[!-9;-~]+$/.test(name)) {
    report(path, `expected an RFC 5322 header field name (printable ASCII without spaces or colon); found ${JSON.stringify(name)}`, true);
  }
  if (/[\r\n]/.test(value)) {
    report(path, `header value contains a line break (CR or LF), which would inject header fields; found ${JSON.stringify(value)}`);
  }
}

function checkReference(report: Report, path: FieldPath, name: string, known: string[], kind: string, alternative?: string): void {
  if (known.includes(name)) return;
  const suggestion = didYouMean(name, known);
  let message = `unknown ${kind} "${name}"`;
  if (suggestion !== undefined) return report(path, `${message} (did you mean "${suggestion}"?)`);
  if (known.length > 0) message += `; expected one of ${known.join(', ')}`;
  else message += `; no ${kind === 'authority' ? 'authorities' : `${kind}s`} are defined`;
  report(path, alternative ? `${message}, ${alternative}` : message);
}

/** The closest candidate within a few typos (case differences count as none), if any. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance with adjacent transpositions, which are the commonest typo. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  // every index below is inside the (a.length + 1) × (b.length + 1) table
  const at = (i: number, j: number) => d[i]![j]!;
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i]!;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(at(i, j), at(i - 2, j - 2) + 1);
    }
  }
  return at(a.length, b.length);
}
