/**
 * Connector lists and mail flow rules in a merge patch, changed by Name instead of replaced whole.
 * RFC 7396 replaces a list, so adding one connector would mean copying every other one into the
 * patch; under these keys a mapping with `merge` and/or `remove` changes only the entries it names:
 *
 *   inboundConnectors:
 *     merge:                 # an entry with an existing Name is merge-patched in place, a new Name appended
 *       - { Name: Inbound from Fabrikam, ConnectorType: Partner, SenderDomains: [fabrikam.example] }
 *     remove: [Old connector]
 *
 * A list still replaces the whole list, as before.
 */
import type { FieldPath } from './yaml-positions';
import type { Report } from './validate';

export const NAMED_LISTS = ['inboundConnectors', 'outboundConnectors', 'receiveConnectors', 'sendConnectors', 'transportRules'] as const;

export interface NamedListPatch {
  merge?: unknown[];
  remove?: unknown[];
}

const FORMS = ['merge', 'remove'];
const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const nameOf = (v: unknown): string | undefined => (isMapping(v) && typeof v.Name === 'string' ? v.Name : undefined);
const same = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();

/** Under a named-list key, a mapping of `merge`/`remove` only (a list, or anything else, is RFC 7396 as usual). */
export function isNamedListPatch(key: string, value: unknown): value is NamedListPatch {
  return (
    (NAMED_LISTS as readonly string[]).includes(key) && isMapping(value) && Object.keys(value).length > 0 && Object.keys(value).every((k) => FORMS.includes(k))
  );
}

/** The list with `remove` taken out and each `merge` entry merged in by Name (names compare case-insensitively, as Exchange's do). */
export function patchNamedList(current: unknown, patch: NamedListPatch, mergeEntry: (target: unknown, patch: unknown) => unknown): unknown[] {
  const removed = (patch.remove ?? []).filter((n): n is string => typeof n === 'string');
  const list = (Array.isArray(current) ? current : []).filter((entry) => !removed.some((n) => same(nameOf(entry), n)));
  for (const entry of patch.merge ?? []) {
    if (nameOf(entry) === undefined) continue; // checkNamedListPatches reports it where the patch says it
    const at = list.findIndex((existing) => same(nameOf(existing), nameOf(entry)));
    if (at >= 0) list[at] = mergeEntry(list[at], entry);
    else list.push(mergeEntry(undefined, entry));
  }
  return list;
}

/**
 * What the schema cannot say about these patches, reported where the patch says it: a merge
 * entry without a Name, a removal of a name the topology does not have, `merge`/`remove` that are
 * not lists.
 */
export function checkNamedListPatches(patch: unknown, topology: unknown, report: Report, at: FieldPath = ['patch']): void {
  if (!isMapping(patch) || !isMapping(patch.nodes)) return;
  const nodes = isMapping(topology) && isMapping(topology.nodes) ? topology.nodes : {};
  for (const [nodeName, node] of Object.entries(patch.nodes)) {
    if (!isMapping(node)) continue;
    for (const key of NAMED_LISTS) {
      const value = node[key];
      if (!isNamedListPatch(key, value)) continue;
      const here = [...at, 'nodes', nodeName, key];
      const existing = nodes[nodeName];
      const names = (isMapping(existing) && Array.isArray(existing[key]) ? existing[key] : []).map(nameOf).filter((n): n is string => n !== undefined);
      for (const form of FORMS as Array<keyof NamedListPatch>) {
        const items = value[form];
        if (items === undefined) continue;
        if (!Array.isArray(items)) {
          report(
            [...here, form],
            `expected a list of ${form === 'merge' ? 'entries, each with its Name' : 'names'}; found ${isMapping(items) ? 'a mapping' : JSON.stringify(items)}`,
          );
          continue;
        }
        items.forEach((item, i) => {
          if (form === 'merge' && nameOf(item) === undefined) {
            report([...here, form, i], `a merge entry needs its Name: an entry with an existing Name is merged into it, a new Name is added`);
          }
          if (form === 'remove' && (typeof item !== 'string' || !names.some((n) => same(n, item)))) {
            report(
              [...here, form, i],
              `${JSON.stringify(item)} is not a name in ${nodeName}.${key} of the topology${names.length ? `; its names are ${names.join(', ')}` : `; it has no ${key}`}`,
            );
          }
        });
      }
    }
  }
}
