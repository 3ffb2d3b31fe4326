/**
 * Exchange's header names and value sets (EXCHANGE.md, "What a receiving node stamps"). The
 * AuthMechanism codes are relaylab's catalogue [lab]: real values are seen in traces, not documented.
 */
export const ORG = 'X-MS-Exchange-Organization-';
export const CROSS_PREMISES = 'X-MS-Exchange-CrossPremises-';
export const CROSS_TENANT = 'X-MS-Exchange-CrossTenant-';

export const H = {
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

export const isOrgHeader = (name: string) => name.toLowerCase().startsWith(ORG.toLowerCase());
export const isCrossPremises = (name: string) => name.toLowerCase().startsWith(CROSS_PREMISES.toLowerCase());
