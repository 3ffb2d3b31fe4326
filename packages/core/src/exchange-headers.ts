import { asciiLower, isFieldName, sameHeaderName } from './headers';

/**
 * Exchange's header names and value sets (docs/exchange.md, "What a receiving node stamps"). The
 * AuthMechanism codes are relaylab's catalogue [lab]: real values are seen in traces, not documented.
 */
export const ORG = 'X-MS-Exchange-Organization-';
export const CROSS_PREMISES = 'X-MS-Exchange-CrossPremises-';
export const CROSS_TENANT = 'X-MS-Exchange-CrossTenant-';

export const HEADER = {
  authAs: `${ORG}AuthAs`,
  authSource: `${ORG}AuthSource`,
  authMechanism: `${ORG}AuthMechanism`,
  directionality: `${ORG}MessageDirectionality`,
  scl: `${ORG}SCL`,
  originatorOrg: 'X-OriginatorOrg',
  antispam: 'X-Forefront-Antispam-Report',
  tenantId: `${CROSS_TENANT}Id`,
  tenantAuthAs: `${CROSS_TENANT}AuthAs`,
  tenantAuthSource: `${CROSS_TENANT}AuthSource`,
  tenantFromEntity: `${CROSS_TENANT}FromEntityHeader`,
  tenantArrival: `${CROSS_TENANT}OriginalArrivalTime`,
  tenantNetworkMessageId: `${CROSS_TENANT}Network-Message-Id`,
} as const;

export type AuthAs = 'Anonymous' | 'Partner' | 'Internal';

export const AUTH_MECHANISM = {
  /** Hybrid: the peer was authenticated by its certificate (TLS, cloud services mail). [lab] */
  certificate: '10',
  /** A receive connector with AuthMechanism ExternalAuthoritative (externally secured). [lab] */
  externalAuthoritative: '06',
  /** A user of this organization submitted the message. [lab] */
  submission: '04',
} as const;

/** Names as parsed (any case, see headers.ts): a prefix test, so an odd suffix is still caught. */
export const isOrgHeader = (name: string) => asciiLower(name).startsWith(asciiLower(ORG));
export const isCrossPremises = (name: string) => asciiLower(name).startsWith(asciiLower(CROSS_PREMISES));

const ORG_NAMES: readonly string[] = Object.values(HEADER).filter((n) => n.startsWith(ORG));

/**
 * The name a field carries to the other side of the hybrid boundary (`from` prefix → `to`
 * prefix), in Exchange's spelling when it is one of Exchange's own; undefined when what follows
 * the prefix is no field name Exchange would write (a space, a fold, an 8-bit byte): such a field
 * is dropped, never carried.
 */
export function carriedName(name: string, from: string, to: string): string | undefined {
  const suffix = name.slice(from.length);
  if (!isFieldName(suffix)) return undefined;
  const known = ORG_NAMES.find((n) => sameHeaderName(n.slice(ORG.length), suffix));
  return `${to}${known ? known.slice(ORG.length) : suffix}`;
}
