/**
 * A topology as written (or pasted from the cmdlets' output) brought to the values the lab reads:
 * PowerShell literals, `smtp:x;1` address spaces, sizes, time spans, lists that Export-Csv wrote
 * as one string. Properties the cmdlets print that the lab does not model are taken out and
 * listed. Runs before the schema, which then judges what is left: a name no cmdlet prints stays
 * and is refused there, with "did you mean".
 */
import { hasValue, READ_ONLY_PROPERTIES, TOPOLOGY_OBJECT_PROPERTIES, type CmdletProperties, type ValueKind } from './exchange-properties';
import {
  addressSpaceDomain,
  formatTimeSpan,
  isPowerShellNull,
  parseCertificateName,
  parsePowerShellBoolean,
  parseTimeSpanValue,
  splitMultiValued,
} from './powershell-values';
import { parseByteSize } from './receive-limits';

export type ValuePath = Array<string | number>;

export interface NotSimulated {
  /** Where the property was, e.g. `['nodes', 'eop', 'inboundConnectors', 0, 'EFTestMode']`. */
  path: ValuePath;
  property: string;
  cmdlet: string;
}

export interface NormalizedTopology {
  value: unknown;
  notSimulated: NotSimulated[];
  /** Values of a modelled property that cannot be read; the property is left out. */
  problems: Array<{ path: ValuePath; message: string }>;
}

export interface NormalizeOptions {
  /** A merge patch: `null` (or `$null`) removes a property there, so it is kept, not dropped. */
  patch?: boolean;
  /** Where the topology sits in its document, e.g. `['topology']` in a scenario. */
  at?: ValuePath;
}

type Mutable = Record<string, unknown>;

const isMapping = (v: unknown): v is Mutable => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Returns a copy; the input is not changed. */
export function normalizeTopologyValues(raw: unknown, options: NormalizeOptions = {}): NormalizedTopology {
  const result: NormalizedTopology = { value: raw, notSimulated: [], problems: [] };
  if (!isMapping(raw)) return result;
  const at = options.at ?? [];
  const top: Mutable = { ...raw };
  result.value = top;
  const readBoolean = (object: Mutable, key: string) => {
    if (!(key in object)) return;
    const value = object[key];
    if (isPowerShellNull(value)) {
      if (!options.patch) delete object[key];
      else object[key] = null;
      return;
    }
    object[key] = parsePowerShellBoolean(value) ?? value;
  };
  if (isMapping(top.authorities)) {
    const authorities: Mutable = { ...top.authorities };
    top.authorities = authorities;
    for (const [name, authority] of Object.entries(authorities)) {
      if (!isMapping(authority)) continue;
      const copy = { ...authority };
      authorities[name] = copy;
      readBoolean(copy, 'trusted');
    }
  }
  if (!isMapping(top.nodes)) return result;
  const nodes: Mutable = { ...top.nodes };
  top.nodes = nodes;
  for (const [nodeName, node] of Object.entries(nodes)) {
    if (!isMapping(node)) continue;
    const copy: Mutable = { ...node };
    nodes[nodeName] = copy;
    readBoolean(copy, 'starttls');
    for (const [field, properties] of Object.entries(TOPOLOGY_OBJECT_PROPERTIES) as Array<[string, CmdletProperties]>) {
      const here = [...at, 'nodes', nodeName, field];
      const held = copy[field];
      if (Array.isArray(held)) copy[field] = held.map((item, i) => (isMapping(item) ? normalizeObject(item, properties, [...here, i], options, result) : item));
      else if (isMapping(held)) copy[field] = normalizeObject(held, properties, here, options, result);
    }
  }
  return result;
}

function normalizeObject(object: Mutable, properties: CmdletProperties, here: ValuePath, options: NormalizeOptions, result: NormalizedTopology): Mutable {
  const out: Mutable = {};
  for (const [key, value] of Object.entries(object)) {
    const kind = properties.modelled[key];
    if (kind === undefined) {
      if (properties.notSimulated.includes(key) || READ_ONLY_PROPERTIES.includes(key)) {
        if (hasValue(value)) result.notSimulated.push({ path: [...here, key], property: key, cmdlet: properties.cmdlet });
        continue;
      }
      out[key] = value; // unknown: the schema refuses it, suggesting the name meant
      continue;
    }
    if (isPowerShellNull(value)) {
      // Exports print every property, unset ones as null; unset is what the lab reads as default.
      if (options.patch) out[key] = null;
      continue;
    }
    const read = readValue(kind, value);
    if ('problem' in read) {
      // Left out, so that the schema does not report the same value a second time.
      result.problems.push({ path: [...here, key], message: read.problem });
    } else if (read.value !== undefined) {
      out[key] = read.value;
    }
  }
  return out;
}

/** `{ value }` read (undefined: leave the property out), or a problem; a shape the schema knows how to refuse is passed through. */
export function readValue(kind: ValueKind, value: unknown): { value: unknown } | { problem: string } {
  switch (kind) {
    case 'boolean':
      return { value: parsePowerShellBoolean(value) ?? value };
    case 'integer':
      return { value: typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value };
    case 'string':
    case 'enum':
      return { value: typeof value === 'string' ? value.trim() : value };
    case 'stringList':
    case 'domainList': {
      let items: unknown[];
      if (typeof value === 'string') {
        const split = splitMultiValued(value);
        if (!split)
          return {
            problem: `the export lost this list: it holds the type name ${JSON.stringify(value.trim())} instead of the values (Export-Csv, and ConvertTo-Json past its -Depth, write collections so); re-export with ConvertTo-Json -Depth 4 or Export-Clixml, or join the values in a calculated property`,
          };
        items = split;
      } else if (Array.isArray(value)) {
        items = value;
      } else {
        return { value };
      }
      const strings = items.map((item) => (typeof item === 'string' ? item.trim() : (itemText(item) ?? item)));
      return { value: kind === 'domainList' ? strings.map((s) => (typeof s === 'string' ? addressSpaceDomain(s) : s)) : strings };
    }
    case 'size': {
      if (typeof value !== 'string' || /^\s*unlimited\s*$/i.test(value)) return { value };
      return { value: parseByteSize(value) ?? value };
    }
    case 'countOrUnlimited':
      if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) return { value: Number(value) };
      return { value: typeof value === 'string' && /^\s*unlimited\s*$/i.test(value) ? 'unlimited' : value };
    case 'timeSpan': {
      if (typeof value === 'string') return { value: value.trim() };
      const ms = parseTimeSpanValue(value);
      if (ms === undefined) return { value };
      return { value: formatTimeSpan(ms) };
    }
    case 'certificateName':
      if (typeof value === 'string' && !parseCertificateName(value)) {
        return { problem: `expected a certificate name, <I>issuer<S>subject with a CN in the subject, or a host name; found ${JSON.stringify(value)}` };
      }
      return { value: typeof value === 'string' ? value.trim() : value };
  }
}

/**
 * An item of a multi-valued property that ConvertTo-Json wrote as an object: an IP range
 * (`Expression`), an address space (`Address`, with `Type` and `Cost`), a smart host (`Domain` or `Address`).
 */
function itemText(item: unknown): string | undefined {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return undefined;
  const o = item as Record<string, unknown>;
  const text = [o.Expression, o.Address, o.Domain, o.SmtpDomain, o.Name].find((v): v is string => typeof v === 'string' && v.trim() !== '');
  return text?.trim();
}

/**
 * One line for a run: each property once, in the order first seen. The read-only properties every
 * object carries (Identity, Guid, WhenChanged …) are accepted without a word: no one expects them to act.
 */
export function describeNotSimulated(found: readonly NotSimulated[]): string | undefined {
  const names = [...new Set(found.map((f) => f.property))].filter((name) => !READ_ONLY_PROPERTIES.includes(name));
  return names.length === 0 ? undefined : `not simulated (accepted, no effect in the lab): ${names.join(', ')}`;
}
