import { parseTimeSpan, type NodeSpec } from '@relaylab/core';
import type { Report } from './validate';
import type { FieldPath } from './yaml-positions';

const DAY_MS = 86_400_000;

/** Set-TransportService's ranges [doc], which the schema's `[d.]hh:mm:ss` pattern does not check. */
const RANGES = {
  DelayNotificationTimeout: { min: 1000, max: 30 * DAY_MS, text: '00:00:01 to 30.00:00:00' },
  MessageExpirationTimeout: { min: 5000, max: 90 * DAY_MS, text: '00:00:05 to 90.00:00:00' },
} as const;

export function checkTransportService(node: NodeSpec, here: FieldPath, report: Report): void {
  const t = node.transportService;
  if (!t) return;
  for (const key of Object.keys(RANGES) as Array<keyof typeof RANGES>) {
    const text = t[key];
    if (text === undefined) continue;
    const ms = parseTimeSpan(text);
    const range = RANGES[key];
    if (ms === undefined || ms < range.min || ms > range.max) {
      report([...here, 'transportService', key], `${key} "${text}" must be a time span from ${range.text} ([d.]hh:mm:ss)`);
    }
  }
}
