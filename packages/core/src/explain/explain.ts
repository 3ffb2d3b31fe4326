import { fieldValues, parseHeaders, type HeaderField } from '../headers';
import { HEADER } from '../exchange-headers';
import { normalizeName } from '../names';
import { decodeAntispamReport, type DecodedField } from './antispam-report';
import { receivedChain, type ReceivedHop } from './received-chain';
import { crossTenantValue, readStamps, type ExchangeStamps } from './stamps';
import { classify, ownDomains } from './verdict';

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
