import { fieldValues, parseHeaders, type HeaderField } from '../headers';
import { HEADER } from '../exchange-headers';
import { domainOf, normalizeName } from '../names';
import { antispamValue, decodeAntispamReport, type DecodedField } from './antispam-report';
import { receivedChain, type ReceivedHop } from './received-chain';
import { crossTenantValue, readStamps, type ExchangeStamps } from './stamps';

/**
 * `relaylab explain`: a delivered message's header section read back into what happened at each
 * hop and how Exchange classified it — and, when mail from the organization arrived as external,
 * which hop most likely broke it (docs/exchange.md, "Internal or not").
 */

/** Who a host is, from its name and the form of the Received field it wrote. */
export type HostKind = 'exchange-online' | 'exchange-server' | 'other';

export interface ExplainedHop extends ReceivedHop {
  index: number;
  /** The receiving host's kind. */
  kind: HostKind;
  /** The sending host's kind, as far as its name tells. */
  fromKind: HostKind | 'unknown';
  /** Connectors this hop implies, in Exchange's terms. */
  connectors: string[];
  /** This hop's receiving host stamped the classification read from the headers. */
  classifiedHere?: 'organization' | 'cross-tenant';
}

export interface MessageClassification {
  authAs?: string;
  directionality?: string;
  /** The server that decided (AuthSource). */
  decidedBy?: string;
  internal: boolean;
  /** Where the classification was read: the organization headers, or Exchange Online's cross-tenant ones. */
  source: 'organization' | 'cross-tenant' | 'none';
  /** EOP's filtering: SFV, SCL and DIR of X-Forefront-Antispam-Report. */
  filtering?: { sfv?: string; scl?: string; dir?: string };
  /** In words: why this classification. */
  reasons: string[];
  /** What broke internal status, when mail from the organization arrived as external (or another tenant's arrived internal). */
  problems: string[];
  /** The same, as codes a tool (and --scenario) can act on. */
  causes: ExplainCause[];
}

export type ExplainCause =
  'foreign-tenant' | 'device-in-path' | 'hybrid-hop-plaintext' | 'certificate-not-matched' | 'cross-premises-not-promoted' | 'unexplained';

export interface Explanation {
  subject?: string;
  from?: string;
  to: string[];
  hops: ExplainedHop[];
  stamps: ExchangeStamps;
  antispam?: DecodedField[];
  classification: MessageClassification;
}

export interface ExplainOptions {
  /** The organization's own domains; default: X-OriginatorOrg's domain. */
  organizationDomains?: string[];
}

const EXO_HOST =
  /(^|\.)(protection\.outlook\.(com|example)|prod\.outlook\.com|outlook\.office365\.com|outlook\.com|protection\.outlook\.example|mail\.protection\.outlook\.example)$/i;

export function hostKind(host: string | undefined, writer?: ReceivedHop['writer']): HostKind | 'unknown' {
  if (!host) return 'unknown';
  if (EXO_HOST.test(normalizeName(host))) return 'exchange-online';
  if (writer === 'exchange') return 'exchange-server';
  return writer ? 'other' : 'unknown';
}

const addressesIn = (values: string[]) => values.flatMap((v) => [...v.matchAll(/[^\s<>,;:"]+@[^\s<>,;:"]+/g)].map((m) => m[0].toLowerCase()));

function impliedConnectors(hop: ExplainedHop, stamps: ExchangeStamps, sameKindBefore: boolean): string[] {
  const entity = crossTenantValue(stamps, 'FromEntityHeader');
  const out: string[] = [];
  if (/^mapi$/i.test(hop.with ?? '')) return ['mailbox submission (MAPI): the message was written on this server'];
  if (hop.kind === 'exchange-online' && hop.fromKind === 'exchange-online') return ['inside Exchange Online (between its own servers)'];
  if (hop.kind === 'exchange-server' && hop.fromKind === 'exchange-server' && sameKindBefore)
    return ['inside the on-premises organization (between its own servers)'];
  if (hop.kind === 'exchange-online') {
    if (hop.fromKind === 'exchange-server' && entity === 'HybridOnPrem')
      out.push(
        'on premises: send connector with CloudServicesMailEnabled (the Hybrid Configuration Wizard\'s "Outbound to Office 365")',
        'Exchange Online: OnPremises inbound connector matched by the sending certificate',
      );
    else if (hop.fromKind === 'exchange-server')
      out.push(
        'on premises: a send connector to Exchange Online',
        'Exchange Online: no OnPremises connector matched (the mail was attributed as Internet mail)',
      );
    else out.push('Exchange Online: mail from the Internet or a partner (no OnPremises connector)');
  } else if (hop.kind === 'exchange-server') {
    if (hop.fromKind === 'exchange-online')
      out.push(
        "Exchange Online: outbound connector to the on-premises server (OnPremises, or another tenant's connector)",
        stamps.organization.authAs === 'Internal'
          ? "on premises: receive connector whose TlsDomainCapabilities grant AcceptCloudServicesMail to Exchange Online's certificate"
          : 'on premises: a receive connector that took the mail anonymously',
      );
    else out.push('on premises: a receive connector (the Default Frontend, or one scoped by RemoteIPRanges)');
  } else if (hop.fromKind === 'exchange-online') out.push('Exchange Online: delivery to the Internet by MX, or an outbound connector (smart host)');
  else if (hop.fromKind === 'exchange-server')
    out.push('on premises: a send connector for this destination (address space * for the Internet, or a smart host)');
  return out;
}

function classify(
  hops: ExplainedHop[],
  stamps: ExchangeStamps,
  antispam: DecodedField[] | undefined,
  from: string | undefined,
  to: string[],
  options: ExplainOptions,
): MessageClassification {
  const org = stamps.organization;
  const tenantAuthAs = crossTenantValue(stamps, 'AuthAs');
  const source: MessageClassification['source'] = org.authAs ? 'organization' : tenantAuthAs ? 'cross-tenant' : 'none';
  const authAs = org.authAs ?? tenantAuthAs;
  const decidedBy = org.authAs ? org.authSource : crossTenantValue(stamps, 'AuthSource');
  const filtering = antispam ? { sfv: antispamValue(antispam, 'SFV'), scl: antispamValue(antispam, 'SCL'), dir: antispamValue(antispam, 'DIR') } : undefined;
  const c: MessageClassification = {
    ...(authAs !== undefined && { authAs }),
    ...(org.directionality !== undefined && { directionality: org.directionality }),
    ...(decidedBy !== undefined && { decidedBy }),
    internal: authAs === 'Internal',
    source,
    ...(filtering && { filtering }),
    reasons: [],
    problems: [],
    causes: [],
  };
  const problem = (cause: ExplainCause, text: string) => {
    c.causes.push(cause);
    c.problems.push(text);
  };
  if (source === 'none') {
    c.reasons.push('no Exchange classification headers: the message did not pass Exchange, or they were removed on the way');
    return c;
  }
  c.reasons.push(
    `${decidedBy ?? 'Exchange'} classified it AuthAs ${authAs}${org.directionality ? `, ${org.directionality}` : ''} (${source === 'organization' ? 'X-MS-Exchange-Organization-AuthAs' : 'X-MS-Exchange-CrossTenant-AuthAs'})`,
  );
  if (filtering?.sfv) c.reasons.push(`Exchange Online filtering: SFV:${filtering.sfv}, SCL:${filtering.scl ?? '?'}, DIR:${filtering.dir ?? '?'}`);
  if (stamps.crossPremises.length) c.reasons.push(`cross-premises headers arrived but were not promoted (${stamps.crossPremises.join(', ')})`);

  const own = ownDomains(stamps, options);
  const inOrg = (address: string | undefined) => !!address && own.some((d) => domainOf(address) === d || domainOf(address).endsWith(`.${d}`));
  const last = hops[hops.length - 1];
  const endsOnPremises = last?.kind === 'exchange-server';

  if (
    c.internal &&
    stamps.originatorOrg &&
    endsOnPremises &&
    to.length &&
    !to.some((r) => domainOf(r) === normalizeName(stamps.originatorOrg!) || domainOf(r).endsWith(`.${normalizeName(stamps.originatorOrg!)}`))
  ) {
    problem(
      'foreign-tenant',
      `accepted as internal on premises, but X-OriginatorOrg is ${stamps.originatorOrg}, not the recipients' organization: another Exchange Online tenant's connector delivered it to your hybrid endpoint (field report "Securing the Hybrid receive connector further"; relaylab lint reports it as hybrid-receive-any-tenant)`,
    );
  }
  if (!c.internal && inOrg(from)) {
    c.reasons.push(`the sender ${from} is in the organization (${own.join(', ')}), yet the message arrived ${authAs}`);
    // Positions the message passed: its origin (the first hop's client), then each receiving host.
    const kinds = [hops[0]?.fromKind ?? 'unknown', ...hops.map((h) => h.kind)];
    const exchangeAt = kinds.map((k, i) => (k === 'exchange-online' || k === 'exchange-server' ? i : -1)).filter((i) => i >= 0);
    const between = hops.filter((h, i) => h.kind === 'other' && exchangeAt.some((j) => j < i + 1) && exchangeAt.some((j) => j > i + 1));
    const intoCloud = hops.find((h) => h.kind === 'exchange-online' && h.fromKind !== 'exchange-online');
    for (const h of between)
      problem(
        'device-in-path',
        `hop ${h.index + 1}: ${h.by ?? 'a host'} is not Exchange and sits between on premises and Exchange Online; it received the message and sent it on, so Exchange Online saw it, not your server (Microsoft, "Transport options in Exchange hybrid deployments"; relaylab lint: device-between-onprem-and-eop)`,
      );
    if (!between.length && intoCloud && intoCloud.fromKind === 'exchange-server' && intoCloud.tls === null)
      problem(
        'hybrid-hop-plaintext',
        `hop ${intoCloud.index + 1}: on premises sent to Exchange Online without TLS, so there was no certificate to match the OnPremises inbound connector`,
      );
    else if (!between.length && intoCloud && intoCloud.fromKind === 'exchange-server' && crossTenantValue(stamps, 'FromEntityHeader') === 'Internet')
      problem(
        'certificate-not-matched',
        `hop ${intoCloud.index + 1}: Exchange Online did not match the on-premises server's certificate to the OnPremises inbound connector (FromEntityHeader Internet): TlsSenderCertificateName is not among the certificate's names, or the certificate is expired or untrusted (relaylab lint: hybrid-certificate-name, certificate-expiry)`,
      );
    const intoOnPremises = hops.find((h) => h.kind === 'exchange-server' && h.fromKind === 'exchange-online');
    if (intoOnPremises && crossTenantValue(stamps, 'AuthAs') === 'Internal' && org.authAs && org.authAs !== 'Internal')
      problem(
        'cross-premises-not-promoted',
        `hop ${intoOnPremises.index + 1}: Exchange Online treated it as internal, but on premises did not promote the cross-premises headers: the receive connector lacks TlsDomainCapabilities AcceptCloudServicesMail for Exchange Online's certificate, or the hop was not TLS`,
      );
    if (!c.problems.length) problem('unexplained', 'no hop in the Received chain explains it; compare the certificates and connectors of the hybrid hops');
  }
  return c;
}

function ownDomains(stamps: ExchangeStamps, options: ExplainOptions): string[] {
  return (options.organizationDomains ?? (stamps.originatorOrg ? [stamps.originatorOrg] : [])).map(normalizeName);
}

/** The first client: Exchange Online by name, or (assumed) the organization's own server when its name is in the organization's domains. */
function originKind(host: string | undefined, own: string[]): HostKind | 'unknown' {
  const kind = hostKind(host);
  if (kind !== 'unknown' || !host) return kind;
  const h = normalizeName(host);
  return own.some((d) => h.endsWith(`.${d}`)) ? 'exchange-server' : 'unknown';
}

export function explainMessage(raw: Buffer | string, options: ExplainOptions = {}): Explanation {
  const fields: HeaderField[] = parseHeaders(Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'latin1'));
  const stamps = readStamps(fields);
  const antispamHeader = fieldValues(fields, HEADER.antispam)[0];
  const antispam = antispamHeader !== undefined ? decodeAntispamReport(antispamHeader) : undefined;
  const chain = receivedChain(fieldValues(fields, 'Received'));
  const own = ownDomains(stamps, options);
  const hops: ExplainedHop[] = chain.map((h, index) => {
    const kind = hostKind(h.by, h.writer) as HostKind;
    const previous = index > 0 ? chain[index - 1] : undefined;
    return { ...h, index, kind, fromKind: previous ? (hostKind(previous.by, previous.writer) as HostKind) : originKind(h.from, own), connectors: [] };
  });
  hops.forEach((h, i) => (h.connectors = impliedConnectors(h, stamps, i > 0 && hops[i - 1]!.kind === h.kind)));
  // Exchange Online names one server two ways (…mail.protection.outlook.com in Received, …prod.outlook.com in AuthSource): the first label decides.
  const label = (host: string) => normalizeName(host).split('.')[0];
  const source = (host: string | undefined) =>
    host &&
    (hops
      .slice()
      .reverse()
      .find((h) => h.by && normalizeName(h.by) === normalizeName(host)) ??
      hops
        .slice()
        .reverse()
        .find((h) => h.by && label(h.by) === label(host)));
  const orgHop = source(stamps.organization.authSource);
  if (orgHop) orgHop.classifiedHere = 'organization';
  const tenantHop = source(crossTenantValue(stamps, 'AuthSource'));
  if (tenantHop && !tenantHop.classifiedHere) tenantHop.classifiedHere = 'cross-tenant';
  const from = addressesIn(fieldValues(fields, 'From'))[0];
  const to = addressesIn([...fieldValues(fields, 'To'), ...fieldValues(fields, 'Cc')]);
  const subject = fieldValues(fields, 'Subject')[0];
  return {
    ...(subject !== undefined && { subject }),
    ...(from !== undefined && { from }),
    to,
    hops,
    stamps,
    ...(antispam && { antispam }),
    classification: classify(hops, stamps, antispam, from, to, options),
  };
}
