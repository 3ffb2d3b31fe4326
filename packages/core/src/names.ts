/**
 * Certificate name matching. A wildcard covers exactly one left-most label [doc]; either side may
 * be a wildcard because Exchange lets TlsDomain and TlsSenderCertificateName be `*.contoso.com`.
 */
import { addressSpaceDomain } from './powershell-values';

export function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

function wildcardCovers(wildcard: string, name: string): boolean {
  const suffix = wildcard.slice(1); // ".contoso.example"
  if (!name.endsWith(suffix)) return false;
  const label = name.slice(0, name.length - suffix.length);
  return label.length > 0 && !label.includes('.') && label !== '*';
}

export function namesMatch(expected: string, presented: string): boolean {
  const e = normalizeName(expected);
  const p = normalizeName(presented);
  if (e === p) return true;
  if (p.startsWith('*.')) return wildcardCovers(p, e);
  if (e.startsWith('*.')) return wildcardCovers(e, p);
  return false;
}

/** The first presented name that satisfies `expected`, if any. */
export function findMatchingName(expected: string, presented: readonly string[]): string | undefined {
  return presented.find((p) => namesMatch(expected, p));
}

/**
 * Domain patterns used by RecipientDomains, SenderDomains and AddressSpaces: `*`, `*.x`, `x`,
 * also in the `smtp:x;1` form the cmdlets print, so that pasted output matches what it says.
 */
export function domainMatches(pattern: string, domain: string): boolean {
  const p = normalizeName(addressSpaceDomain(pattern));
  const d = normalizeName(domain);
  if (p === '*') return true;
  if (p.startsWith('*.')) return d.endsWith(p.slice(1)) && d.length > p.length - 1;
  return p === d;
}

/** How specific a domain pattern is, so the most specific connector wins. */
export function domainSpecificity(pattern: string): number {
  const p = normalizeName(addressSpaceDomain(pattern));
  if (p === '*') return 0;
  const labels = p.split('.').length;
  return p.startsWith('*.') ? labels * 2 - 1 : labels * 2;
}

export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return normalizeName(at >= 0 ? address.slice(at + 1) : address);
}
