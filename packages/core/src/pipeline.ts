import { createHash } from 'node:crypto';
import { antispamVerdict, formatAntispamReport, type AntispamVerdict } from './antispam';
import type { Classification } from './classify';
import type { OutboundRoute } from './connectors';
import { applyEdits, headerPattern, removalsMatching, removalsOf, type HeaderEdit } from './edits';
import { carriedName, CROSS_PREMISES, HEADER, isCrossPremises, isOrgHeader, ORG, type AuthAs } from './exchange-headers';
import { headerEnd, headerIndex, headerValues, parseHeaders, unfoldValue, type HeaderField } from './headers';
import { ipListed } from './ip';
import { domainOf } from './names';
import { evaluateRules, type RulesOutcome } from './rules';
import type { NodeContext } from './routing';
import { accept, refuse, type Accepted, type Refused } from './verdict';

export interface MessageInput {
  ctx: NodeContext;
  classification?: Classification;
  raw: Buffer;
  from: string;
  recipients: string[];
  clientIp?: string;
  helo?: string;
  now: Date;
  /** Unique per message per node, for X-MS-Exchange-CrossTenant-Network-Message-Id. */
  networkMessageId: string;
}

export interface MessageOutcome {
  raw: Buffer;
  edits: HeaderEdit[];
  /** After cross-premises promotion: what the message is treated as here, and who decided. */
  authAs?: AuthAs;
  authSource?: string;
  directionality?: string;
  rules: RulesOutcome;
  antispam?: AntispamVerdict;
  scl?: number;
  /** Refused: a mail flow rule rejected the message, the sender gets its reply. */
  verdict: Accepted | Refused;
  /** Accepted and dropped without a word: the mail flow rule that deleted it. */
  deletedBy?: string;
}

/**
 * Enhanced filtering for connectors: the connecting IP is the service in front of Exchange Online,
 * so the original client is read from the Received headers, newest first, past the skipped hops.
 */
export function originalClientIp(raw: Buffer, skip: { skipIps: string[]; skipLast: boolean }): string | undefined {
  return originalClientIpOf(headerValues(raw, 'Received'), skip);
}

function originalClientIpOf(received: string[], skip: { skipIps: string[]; skipLast: boolean }): string | undefined {
  const ips = received.map((v) => /^from \S+ \((?:[^)[]*\[)?(\d{1,3}(?:\.\d{1,3}){3})\]?\)/.exec(v)?.[1]).filter((ip): ip is string => !!ip);
  // ips[0] is this node's own Received header: the hop that connected to us.
  let candidates = ips;
  if (skip.skipLast) candidates = candidates.slice(1);
  return candidates.find((ip) => !ipListed(ip, skip.skipIps));
}

/** Edge address rewriting for mail leaving the organization: envelope sender and From. */
export function addressRewrite(ctx: NodeContext, from: string, raw: Buffer): { from: string; edits: HeaderEdit[] } {
  const rewrite = (address: string): string | undefined => {
    const lower = address.toLowerCase();
    for (const e of ctx.spec.addressRewriteEntries ?? []) {
      const inner = e.InternalAddress.toLowerCase();
      if (inner === lower) return e.ExternalAddress;
      if (inner.startsWith('*.') && lower.endsWith(inner.slice(1))) return `${lower.slice(0, lower.indexOf('@'))}@${e.ExternalAddress}`;
      if (!inner.includes('@') && domainOf(lower) === inner) return `${lower.slice(0, lower.indexOf('@'))}@${e.ExternalAddress}`;
    }
    return undefined;
  };
  const newFrom = rewrite(from);
  const edits: HeaderEdit[] = [];
  const header = headerValues(raw, 'From')[0];
  const addr = header ? (/<([^>]+)>/.exec(header)?.[1] ?? header.trim()) : undefined;
  const newHeaderAddr = addr ? rewrite(addr) : undefined;
  if (header && addr && newHeaderAddr) {
    const reason = `address rewriting on ${ctx.spec.hostname}: ${addr} → ${newHeaderAddr}`;
    edits.push({ op: 'remove', name: 'From', reason }, { op: 'prepend', name: 'From', value: header.replace(addr, newHeaderAddr), reason });
  }
  return { from: newFrom ?? from, edits };
}

/** The domain of the From header's address, as mail flow rules read the sender by default. */
function headerFromDomain(values: (name: string) => string[]): string | undefined {
  const from = values('From')[0];
  const address = from ? (/<([^>]+)>/.exec(from)?.[1] ?? from.trim()) : undefined;
  return address && address.includes('@') ? domainOf(address) : undefined;
}

/** A stable GUID-shaped tenant id when the topology gives none. */
export function tenantIdOf(organization: string, given?: string): string {
  if (given) return given;
  const h = createHash('sha256').update(`tenant:${organization}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const replace = (name: string, value: string, reason: string, present: boolean): HeaderEdit[] => [
  ...(present ? [{ op: 'remove' as const, name, reason }] : []),
  { op: 'prepend', name, value, reason },
];

function bodyOf(raw: Buffer): string {
  return raw.subarray(headerEnd(raw)).toString('utf8');
}

/** A carried value on one line: folds unfolded, and a bare CR or LF (which no writer may emit) a space. */
const carriedValue = (value: string) => unfoldValue(value).replace(/[\r\n]+/g, ' ');

/**
 * Headers carried across the hybrid boundary under another prefix: every spelling removed, then
 * each field re-written under the new name in Exchange's spelling, in the order it arrived. A field
 * whose name cannot be carried (see carriedName) is removed and not written again.
 */
function carryAcross(
  fields: readonly HeaderField[],
  test: (name: string) => boolean,
  from: string,
  to: string,
  reasons: { carried: string; dropped: string; written: (name: string) => string },
): HeaderEdit[] {
  const mine = fields.filter((f) => test(f.name));
  const removals = removalsOf(mine, test, (name) => (carriedName(name, from, to) ? reasons.carried : reasons.dropped));
  const prepends: HeaderEdit[] = [];
  for (const f of [...mine].reverse()) {
    const name = carriedName(f.name, from, to);
    if (name) prepends.push({ op: 'prepend', name, value: carriedValue(f.value), reason: reasons.written(f.name) });
  }
  return [...removals, ...prepends];
}

/** Header firewall on receipt (docs/exchange.md, "Header firewall and cross-premises headers", rules 1–3). */
function firewall(fields: readonly HeaderField[], c: Classification): HeaderEdit[] {
  const edits: HeaderEdit[] = [];
  if (!c.keepOrganizationHeaders) {
    edits.push(
      ...removalsOf(
        fields,
        isOrgHeader,
        `header firewall: organization headers from ${c.authAs === 'Internal' ? 'a user' : `an untrusted (${c.authAs})`} source are removed`,
      ),
    );
  }
  if (c.acceptCrossPremises) {
    edits.push(
      ...carryAcross(fields, isCrossPremises, CROSS_PREMISES, ORG, {
        carried: 'cross-premises header promoted: the sender is the authenticated hybrid partner',
        dropped: 'cross-premises header dropped: its name is not one Exchange writes, so it is not promoted',
        written: (name) => `promoted from ${name}`,
      }),
    );
  } else {
    edits.push(...removalsOf(fields, isCrossPremises, 'cross-premises headers dropped: the sender was not authenticated as the hybrid partner'));
  }
  return edits;
}

/** What a node does to a message it accepts or originates, before routing it on. Pure. */
export function processMessage(input: MessageInput): MessageOutcome {
  const { ctx } = input;
  const noRules: RulesOutcome = { fired: [], setHeaders: [] };
  if (!ctx.preset.exchange || !input.classification) {
    const globs = (ctx.spec.stripHeaders ?? []).map(headerPattern);
    const edits = globs.length
      ? removalsMatching(input.raw, (n) => globs.some((g) => g.test(n)), `${ctx.spec.hostname} strips ${ctx.spec.stripHeaders!.join(', ')}`)
      : [];
    return { raw: applyEdits(input.raw, edits), edits, rules: noRules, verdict: accept(`${ctx.spec.hostname} applies no mail flow rules`) };
  }
  const c = input.classification;
  const edits = firewall(parseHeaders(input.raw), c);
  let raw = applyEdits(input.raw, edits);
  // Every read below is of this one version of the header section, parsed once.
  const values = headerIndex(parseHeaders(raw));

  const trusted = c.acceptCrossPremises || c.keepOrganizationHeaders;
  const carried = trusted ? values(HEADER.authAs)[0] : undefined;
  // Only Exchange's own value set is honoured; anything else is replaced by this node's verdict.
  const promotedAuthAs = carried && ['Anonymous', 'Partner', 'Internal'].includes(carried) ? (carried as AuthAs) : undefined;
  const authAs: AuthAs = promotedAuthAs ?? c.authAs;
  const carriedDirection = trusted ? values(HEADER.directionality)[0] : undefined;
  const directionality =
    carriedDirection === 'Incoming' || carriedDirection === 'Originating' ? carriedDirection : authAs === 'Internal' ? 'Originating' : 'Incoming';

  const accepted = ctx.acceptedDomains;
  const recipientDomains = input.recipients.map(domainOf);
  const rules = evaluateRules(ctx.spec.transportRules, {
    // InOrganization: an authenticated sender whose address is in one of the organization's accepted domains.
    fromScope: authAs === 'Internal' && accepted.includes(domainOf(input.from)) ? 'InOrganization' : 'NotInOrganization',
    senderDomain: domainOf(input.from),
    headerSenderDomain: headerFromDomain(values),
    recipientDomains,
    clientIp: input.clientIp,
    header: values,
  });

  const online = ctx.preset.connectorModel === 'online';
  const outbound = recipientDomains.some((d) => !accepted.includes(d));
  const originalIp = c.enhancedFiltering ? (originalClientIpOf(values('Received'), c.enhancedFiltering) ?? input.clientIp) : input.clientIp;
  const antispam = online
    ? antispamVerdict({
        authAs,
        clientIp: originalIp,
        helo: input.helo,
        sender: input.from,
        outbound,
        body: bodyOf(raw),
        connectionFilter: ctx.spec.hostedConnectionFilterPolicy,
        contentFilter: ctx.spec.hostedContentFilterPolicy,
        ruleScl: rules.scl?.value,
      })
    : undefined;
  const scl = antispam?.scl ?? rules.scl?.value ?? (authAs === 'Internal' ? -1 : undefined);

  const has = (name: string) => values(name).length > 0;
  const stamps: HeaderEdit[] = [];
  const why = `classified ${authAs} by ${ctx.spec.hostname}: ${c.reason}`;
  if (!promotedAuthAs) {
    stamps.push(...replace(HEADER.authAs, authAs, why, has(HEADER.authAs)));
    stamps.push(...replace(HEADER.authSource, c.authSource, why, has(HEADER.authSource)));
    if (c.authMechanism) stamps.push(...replace(HEADER.authMechanism, c.authMechanism, why, has(HEADER.authMechanism)));
  }
  if (carriedDirection !== directionality) stamps.push(...replace(HEADER.directionality, directionality, why, has(HEADER.directionality)));
  const sclNow = values(HEADER.scl)[0];
  if (scl !== undefined && sclNow !== String(scl))
    stamps.push(
      ...replace(
        HEADER.scl,
        String(scl),
        antispam ? `anti-spam: ${antispam.reason}` : rules.scl ? `mail flow rule ${rules.scl.rule}` : 'internal mail',
        has(HEADER.scl),
      ),
    );
  if (online && ctx.spec.organization) {
    const org = ctx.spec.organization;
    const tenant = ctx.tenantId ?? tenantIdOf(org);
    const tenantWhy = `Exchange Online stamps the tenant that handled the message`;
    stamps.push(...replace(HEADER.tenantId, tenant, tenantWhy, has(HEADER.tenantId)));
    stamps.push(...replace(HEADER.tenantAuthAs, authAs, tenantWhy, has(HEADER.tenantAuthAs)));
    stamps.push(...replace(HEADER.tenantAuthSource, ctx.spec.hostname, tenantWhy, has(HEADER.tenantAuthSource)));
    stamps.push(...replace(HEADER.tenantFromEntity, c.fromEntity, tenantWhy, has(HEADER.tenantFromEntity)));
    stamps.push(...replace(HEADER.tenantArrival, input.now.toISOString(), tenantWhy, has(HEADER.tenantArrival)));
    stamps.push(...replace(HEADER.tenantNetworkMessageId, input.networkMessageId, tenantWhy, has(HEADER.tenantNetworkMessageId)));
    stamps.push(...replace(HEADER.originatorOrg, accepted[0] ?? org, tenantWhy, has(HEADER.originatorOrg)));
    stamps.push(
      ...replace(
        HEADER.antispam,
        formatAntispamReport(antispam!, originalIp, input.helo),
        `anti-spam: ${antispam!.reason}${originalIp !== input.clientIp ? ` (enhanced filtering: original client ${originalIp})` : ''}`,
        has(HEADER.antispam),
      ),
    );
  }
  for (const set of rules.setHeaders) stamps.push(...replace(set.name, set.value, `mail flow rule ${set.rule}`, has(set.name)));
  raw = applyEdits(raw, stamps);
  edits.push(...stamps);

  // A rule that both deletes and rejects deletes: the sender hears nothing.
  const verdict = rules.deletedBy
    ? accept(`mail flow rule ${rules.deletedBy} deleted the message silently`)
    : rules.reject
      ? refuse(rules.reject.reply, `mail flow rule ${rules.reject.rule} rejected the message`)
      : accept(`no mail flow rule on ${ctx.spec.hostname} rejects the message`);
  const authSource = (promotedAuthAs && headerValues(raw, HEADER.authSource)[0]) || c.authSource;
  return { raw, edits, authAs, authSource, directionality, rules, antispam, scl, verdict, deletedBy: rules.deletedBy };
}

/**
 * Leaving through a connector: organization headers travel as cross-premises headers when the
 * connector has CloudServicesMailEnabled, and never leave the organization otherwise.
 */
export function outboundEdits(ctx: NodeContext, route: OutboundRoute, raw: Buffer): HeaderEdit[] {
  if (!ctx.preset.exchange || route.intraOrganization) return [];
  if (!route.cloudServicesMailEnabled) {
    return removalsMatching(raw, isOrgHeader, `organization headers do not leave the organization (${route.connector} has no CloudServicesMailEnabled)`);
  }
  return carryAcross(parseHeaders(raw), isOrgHeader, ORG, CROSS_PREMISES, {
    carried: `CloudServicesMailEnabled on ${route.connector}`,
    dropped: `organization header not carried: its name is not one Exchange writes (${route.connector})`,
    written: () => `CloudServicesMailEnabled on ${route.connector}: carried across premises`,
  });
}
