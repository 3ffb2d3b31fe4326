/**
 * Where the loader reads a topology as the cmdlets print it (see core's topology-values.ts), and
 * remembers, per loaded topology, the properties it accepted without simulating them, so that a
 * run can list them once.
 */
import { normalizeTopologyValues, type NotSimulated, type Topology, type ValuePath } from '@relaylab/core';
import type { Report } from './validate';

const accepted = new WeakMap<object, NotSimulated[]>();

/** The value with Exchange's shapes read; problems go to `report`. */
export function readExchangeValues(
  value: unknown,
  report: Report,
  options: { patch?: boolean; at?: ValuePath } = {},
): { value: unknown; notSimulated: NotSimulated[] } {
  const normalized = normalizeTopologyValues(value, options);
  for (const problem of normalized.problems) report(problem.path, problem.message);
  return { value: normalized.value, notSimulated: normalized.notSimulated };
}

export function rememberNotSimulated(topology: Topology, ...found: Array<readonly NotSimulated[] | undefined>): void {
  const all = found.flatMap((f) => f ?? []);
  if (all.length > 0) accepted.set(topology, [...(accepted.get(topology) ?? []), ...all]);
}

/** The cmdlet properties a loaded topology carries that the lab accepted and does not simulate. */
export function notSimulatedIn(topology: Topology): readonly NotSimulated[] {
  return accepted.get(topology) ?? [];
}
