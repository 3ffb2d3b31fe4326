import { fieldValues, sameHeaderName, type HeaderField } from '../headers';
import { CROSS_PREMISES, CROSS_TENANT, HEADER } from '../exchange-headers';

/**
 * What Exchange wrote about the message (docs/exchange.md, "What a receiving node stamps"): the
 * organization headers of the last Exchange organization it reached, Exchange Online's
 * cross-tenant stamps, X-OriginatorOrg, and the Authentication-Results of the receiving service.
 */

export interface OrganizationStamps {
  authAs?: string;
  authSource?: string;
  authMechanism?: string;
  directionality?: string;
  scl?: string;
}

export interface AuthenticationResult {
  method: string;
  result: string;
  /** `smtp.mailfrom=…`, `header.from=…`, `reason=…` and the like. */
  properties: Record<string, string>;
  comment?: string;
}

export interface ExchangeStamps {
  organization: OrganizationStamps;
  /** X-MS-Exchange-CrossTenant-<name> → value (first occurrence), e.g. `AuthAs`, `FromEntityHeader`, `Id`. */
  crossTenant: Record<string, string>;
  /** X-MS-Exchange-CrossPremises-* names still present: carried across the hybrid boundary but never promoted. */
  crossPremises: string[];
  originatorOrg?: string;
  authenticationResults: Array<{ authservId: string; results: AuthenticationResult[] }>;
}

const first = (fields: readonly HeaderField[], name: string) => fieldValues(fields, name)[0];

/** RFC 8601 Authentication-Results: `authserv-id; method=result (comment) prop=value; …`. */
export function parseAuthenticationResults(value: string): { authservId: string; results: AuthenticationResult[] } {
  const parts = value.split(';').map((p) => p.trim());
  // Exchange Online writes no authserv-id: its field starts with the first result.
  const authservId = parts[0] !== undefined && !/^[a-z0-9_.-]+\s*=/i.test(parts[0]) ? parts.shift()! : '';
  const results: AuthenticationResult[] = [];
  for (const part of parts) {
    const m = /^([a-z0-9_.-]+)\s*=\s*([a-z0-9_-]+)\s*(?:\(([^)]*)\))?\s*(.*)$/i.exec(part);
    if (!m) continue;
    const properties: Record<string, string> = {};
    for (const prop of m[4]!.matchAll(/([a-z0-9_.-]+)=("[^"]*"|\S+)/gi)) properties[prop[1]!] = prop[2]!.replace(/^"|"$/g, '');
    results.push({ method: m[1]!.toLowerCase(), result: m[2]!.toLowerCase(), properties, ...(m[3] && { comment: m[3] }) });
  }
  return { authservId, results };
}

export function readStamps(fields: readonly HeaderField[]): ExchangeStamps {
  const organization: OrganizationStamps = {};
  const put = (key: keyof OrganizationStamps, name: string) => {
    const v = first(fields, name);
    if (v !== undefined) organization[key] = v;
  };
  put('authAs', HEADER.authAs);
  put('authSource', HEADER.authSource);
  put('authMechanism', HEADER.authMechanism);
  put('directionality', HEADER.directionality);
  put('scl', HEADER.scl);
  const crossTenant: Record<string, string> = {};
  for (const f of fields) {
    if (f.name.length <= CROSS_TENANT.length || !sameHeaderName(f.name.slice(0, CROSS_TENANT.length), CROSS_TENANT)) continue;
    const key = f.name.slice(CROSS_TENANT.length);
    if (!Object.keys(crossTenant).some((k) => sameHeaderName(k, key))) crossTenant[key] = first([f], f.name) ?? '';
  }
  const crossPremises = [
    ...new Set(
      fields.filter((f) => f.name.length > CROSS_PREMISES.length && sameHeaderName(f.name.slice(0, CROSS_PREMISES.length), CROSS_PREMISES)).map((f) => f.name),
    ),
  ];
  const originatorOrg = first(fields, HEADER.originatorOrg);
  return {
    organization,
    crossTenant,
    crossPremises,
    ...(originatorOrg !== undefined && { originatorOrg }),
    authenticationResults: fieldValues(fields, 'Authentication-Results').map(parseAuthenticationResults),
  };
}

/** A cross-tenant stamp by its name after the prefix, case-insensitively. */
export const crossTenantValue = (stamps: ExchangeStamps, key: string) => Object.entries(stamps.crossTenant).find(([k]) => sameHeaderName(k, key))?.[1];
