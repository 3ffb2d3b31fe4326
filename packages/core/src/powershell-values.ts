/**
 * Values as Exchange's cmdlets write them, read into what a topology means. Pure parsing: where a
 * value comes from (a YAML file, ConvertTo-Json, Export-Csv) is the caller's business. See
 * docs/exchange.md, "What administrators export".
 */
import { parseByteSize, parseTimeSpan } from './receive-limits';

/** `$true`, `$false`, `True`, `False` (Export-Csv), JSON booleans; undefined when not a boolean. */
export function parsePowerShellBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (text === '$true' || text === 'true') return true;
  if (text === '$false' || text === 'false') return false;
  return undefined;
}

/** `$null` as a hand-written topology or a script writes it; JSON null. */
export function isPowerShellNull(value: unknown): boolean {
  return value === null || (typeof value === 'string' && value.trim().toLowerCase() === '$null');
}

/**
 * An SMTP address space as Exchange stores it, `SMTP:*.contoso.com;1` or `smtp:fabrikam.com;1`
 * (type, domain, cost), reduced to the domain pattern. A plain domain is returned as it is.
 */
export function addressSpaceDomain(space: string): string {
  return space
    .trim()
    .replace(/^smtp:/i, '')
    .replace(/;\d+$/, '')
    .trim();
}

/** A size as a number of bytes, or `Infinity` for `Unlimited`; undefined when unreadable. */
export function parseSizeOrUnlimited(value: unknown): number | undefined {
  if (typeof value === 'string' && /^\s*unlimited\s*$/i.test(value)) return Infinity;
  if (typeof value === 'number' || typeof value === 'string') return parseByteSize(value);
  return undefined;
}

/**
 * A time span in milliseconds: `[d.]hh:mm:ss[.fffffff]` as Exchange prints it, or the object
 * ConvertTo-Json makes of a TimeSpan (`Ticks`, `TotalMilliseconds`, `TotalSeconds`).
 */
export function parseTimeSpanValue(value: unknown): number | undefined {
  if (typeof value === 'string') return parseTimeSpan(value);
  if (value === null || typeof value !== 'object') return undefined;
  const span = value as Record<string, unknown>;
  if (typeof span.Ticks === 'number') return span.Ticks / 10_000;
  if (typeof span.TotalMilliseconds === 'number') return span.TotalMilliseconds;
  if (typeof span.TotalSeconds === 'number') return span.TotalSeconds * 1000;
  return undefined;
}

/** Milliseconds written back as Exchange writes a time span, `[d.]hh:mm:ss` (whole seconds). */
export function formatTimeSpan(ms: number): string {
  const total = Math.round(ms / 1000);
  const days = Math.floor(total / 86_400);
  const two = (n: number) => String(n).padStart(2, '0');
  const clock = `${two(Math.floor((total % 86_400) / 3600))}:${two(Math.floor((total % 3600) / 60))}:${two(total % 60)}`;
  return days > 0 ? `${days}.${clock}` : clock;
}

export interface CertificateName {
  /** Issuer's distinguished name, when the value had `<I>`. */
  issuer?: string;
  /** Subject's distinguished name, or the name as written when it was a plain host name. */
  subject: string;
  /** The host name the name stands for: the subject's CN, or the plain name. */
  hostName: string;
}

/**
 * A certificate name as TlsCertificateName takes it, `<I>CN=Issuer, O=…<S>CN=mail.contoso.com`,
 * or a plain name. Undefined when `<I>`/`<S>` are there but malformed.
 */
export function parseCertificateName(value: string): CertificateName | undefined {
  const text = value.trim();
  if (!text.includes('<I>') && !text.includes('<S>')) return { subject: text, hostName: commonName(text) ?? text };
  const m = /^<I>(.*)<S>(.+)$/s.exec(text);
  if (!m || !m[2]!.trim()) return undefined;
  const subject = m[2]!.trim();
  const hostName = commonName(subject);
  if (!hostName) return undefined;
  return { ...(m[1]!.trim() && { issuer: m[1]!.trim() }), subject, hostName };
}

/** `CN=mail.contoso.com, O=Contoso` → `mail.contoso.com`; a value without `CN=` has none. */
export function commonName(distinguishedName: string): string | undefined {
  const m = /(?:^|[,;]\s*)CN=("(?:[^"]*)"|[^,;+]*)/i.exec(distinguishedName);
  return m ? m[1]!.replace(/^"|"$/g, '').trim() || undefined : undefined;
}

/**
 * A multi-valued property as one string, as Export-Csv writes it: the items joined by spaces
 * (a deserialized collection) or by commas, sometimes in braces. Undefined when the cell holds a
 * type name instead of the items (`System.Object[]`), which means the values were lost on export.
 */
export function splitMultiValued(value: string): string[] | undefined {
  const text = value.trim().replace(/^\{(.*)\}$/s, '$1');
  if (isTypeName(text)) return undefined;
  return text.split(/[\s,]+/).filter((item) => item !== '');
}

/** A cell that holds .NET's name of the value's type, which is what a collection becomes on Export-Csv. */
export function isTypeName(text: string): boolean {
  return /^(System|Microsoft|Deserialized)\.\S+$/.test(text.trim());
}
