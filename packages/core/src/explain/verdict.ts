import { domainOf, normalizeName } from '../names';
import { antispamValue, type DecodedField } from './antispam-report';
import type { ExplainCause, ExplainedHop, ExplainOptions, MessageClassification } from './explain';
import { crossTenantValue, type ExchangeStamps } from './stamps';

/**
 * Whether Exchange treated the message as internal, read from its stamps, and when mail from the
 * organization arrived external (or another tenant's arrived internal) the hop that explains it
 * (docs/exchange.md, "Header firewall and cross-premises headers", "The tenant-connector attack").
 */

export function classify(
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

  // With the organization's domains given, X-OriginatorOrg must be one of them; else (one domain
  // assumed) the recipients' domain must be X-OriginatorOrg's, so mail to a second accepted domain needs --org.
  const originator = stamps.originatorOrg && normalizeName(stamps.originatorOrg);
  const foreignOriginator = options.organizationDomains?.length
    ? !!originator && !inOrg(`postmaster@${originator}`)
    : !!originator && to.length > 0 && !to.some((r) => domainOf(r) === originator || domainOf(r).endsWith(`.${originator}`));
  if (c.internal && endsOnPremises && foreignOriginator) {
    problem(
      'foreign-tenant',
      `accepted as internal on premises, but X-OriginatorOrg is ${stamps.originatorOrg}, not the recipients' organization: another Exchange Online tenant's connector delivered it to your hybrid endpoint (field report "Securing the Hybrid receive connector further"; relaylab lint reports it as hybrid-receive-any-tenant)${
        options.organizationDomains?.length ? '' : `; if ${stamps.originatorOrg} is one of your organization's domains, name them all with --org`
      }`,
    );
  }
  // Mail from the organization to another one arrives anonymous there by design: only mail that
  // stays inside (all recipients unknown, or one of them in the organization) should have been internal.
  if (!c.internal && inOrg(from) && (to.length === 0 || to.some(inOrg))) {
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

/** The organization's own domains: as given, else the X-OriginatorOrg domain. */
export function ownDomains(stamps: ExchangeStamps, options: ExplainOptions): string[] {
  return (options.organizationDomains ?? (stamps.originatorOrg ? [stamps.originatorOrg] : [])).map(normalizeName);
}
