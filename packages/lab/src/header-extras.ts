import type { HeaderExpectation } from './scenario-model';

type Fail = (field: string, expected: unknown, actual: unknown) => void;

/**
 * The header checks beyond present/absent/equals/matches: `notEquals` (no value equals it),
 * and `count` (how many times the field occurs), over every value. Returns the number of checks made.
 */
export function checkHeaderExtras(h: HeaderExpectation, values: string[], field: string, fail: Fail): number {
  let checks = 0;
  if (h.notEquals !== undefined) {
    checks++;
    if (values.includes(h.notEquals)) fail(`${field}.notEquals`, `no value equal to ${h.notEquals}`, values);
  }
  if (h.count !== undefined) {
    checks++;
    if (values.length !== h.count) fail(`${field}.count`, h.count, `${values.length}: ${JSON.stringify(values)}`);
  }
  return checks;
}
