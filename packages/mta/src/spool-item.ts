import type { OutboundRoute } from '@relaylab/core';
import type { LoadedItem, QueueItem } from './queue';

/** A queue item as it lies on disk: dates as ISO strings, the message base64. */
export interface StoredItem extends Omit<QueueItem, 'raw' | 'size' | 'enqueuedAt' | 'nextAttemptAt'> {
  version: 1;
  raw: string;
  enqueuedAt: string;
  nextAttemptAt: string;
}

export const ITEM_ID = /^[A-Za-z0-9_-]+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const ROUTE_KINDS = ['OutboundConnector', 'SendConnector', 'Default'];
const TLS_REQUIREMENTS = ['Opportunistic', 'EncryptionOnly', 'CertificateValidation', 'DomainValidation'];

/** `size` is not stored: the body's length is the truth. */
export function toStored({ size: _size, ...item }: Omit<LoadedItem, 'size'> & { size?: number }): StoredItem {
  return { version: 1, ...item, raw: item.raw.toString('base64'), enqueuedAt: item.enqueuedAt.toISOString(), nextAttemptAt: item.nextAttemptAt.toISOString() };
}

class Invalid extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

function field<T>(o: Record<string, unknown>, name: string, ok: (v: unknown) => v is T, want: string): T {
  const v = o[name];
  if (!ok(v)) throw new Invalid(`${name} must be ${want}, found ${v === undefined ? 'nothing' : JSON.stringify(v).slice(0, 60)}`);
  return v;
}

const str = (v: unknown): v is string => typeof v === 'string';
const optionalStr = (v: unknown): v is string | undefined => v === undefined || typeof v === 'string';

function date(o: Record<string, unknown>, name: string): Date {
  const text = field(o, name, str, 'an ISO date');
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) throw new Invalid(`${name} must be an ISO date, found ${JSON.stringify(text).slice(0, 60)}`);
  return d;
}

function route(v: unknown): OutboundRoute {
  if (!isObject(v)) throw new Invalid('route must be an object');
  field(v, 'connector', str, 'a string');
  field(v, 'kind', (k): k is string => str(k) && ROUTE_KINDS.includes(k), ROUTE_KINDS.join(' or '));
  field(v, 'domains', isStrings, 'a list of strings');
  field(v, 'smartHosts', isStrings, 'a list of strings');
  field(v, 'ignoreStartTls', (b): b is boolean => typeof b === 'boolean', 'true or false');
  field(v, 'intraOrganization', (b): b is boolean => typeof b === 'boolean', 'true or false');
  field(v, 'cloudServicesMailEnabled', (b): b is boolean => typeof b === 'boolean', 'true or false');
  const tls = field(v, 'tls', isObject, 'an object');
  field(tls, 'requirement', (r): r is string => str(r) && TLS_REQUIREMENTS.includes(r), TLS_REQUIREMENTS.join(' or '));
  field(tls, 'settingName', str, 'a string');
  field(tls, 'tlsDomain', optionalStr, 'a string');
  return v as unknown as OutboundRoute;
}

/**
 * A spool file's text back into a queue item, or an error naming the first field that is wrong.
 * Every field is checked before the queue sees the item: one bad date or a recipient list that is
 * a string would otherwise throw in the middle of a delivery, after the next hop said 250, and
 * the node would crash and send the same mail again at every restart. `id` must be the file's
 * own, or removing the item when done would remove another file.
 */
export function parseStoredItem(text: string, expectedId: string): LoadedItem {
  let s: unknown;
  try {
    s = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON (${(err as Error).message})`);
  }
  try {
    if (!isObject(s)) throw new Invalid('not a JSON object');
    if (s.version !== 1) throw new Invalid(`unknown spool version ${JSON.stringify(s.version)}`);
    const id = field(s, 'id', (v): v is string => str(v) && ITEM_ID.test(v), 'letters, digits, _ or -');
    if (id !== expectedId) throw new Invalid(`id ${id} is not the file's (${expectedId})`);
    const recipients = field(
      s,
      'recipients',
      (v): v is string[] => isStrings(v) && v.length > 0 && v.every((r) => r.length > 0),
      'a non-empty list of addresses',
    );
    const raw = field(s, 'raw', (v): v is string => str(v) && BASE64.test(v), 'base64');
    const body = Buffer.from(raw, 'base64');
    const attempts = field(s, 'attempts', (v): v is number => Number.isSafeInteger(v) && (v as number) >= 0, 'a whole number of attempts');
    return {
      id,
      messageId: field(s, 'messageId', str, 'a string'),
      from: field(s, 'from', str, 'an address or empty'),
      recipients,
      raw: body,
      size: body.length,
      route: route(s.route),
      nextHop: field(s, 'nextHop', str, 'a string'),
      enqueuedAt: date(s, 'enqueuedAt'),
      attempts,
      nextAttemptAt: date(s, 'nextAttemptAt'),
      lastReply: field(s, 'lastReply', optionalStr, 'a string'),
      lastReason: field(s, 'lastReason', optionalStr, 'a string'),
      delayNotified: field(s, 'delayNotified', (v): v is boolean | undefined => v === undefined || typeof v === 'boolean', 'true or false'),
    };
  } catch (err) {
    if (err instanceof Invalid) throw new Error(err.message);
    throw err;
  }
}
