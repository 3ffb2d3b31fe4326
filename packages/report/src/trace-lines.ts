import { trackingRow } from '@relaylab/core';
import type { StreamedFormat } from './streamed';

/** `relaylab run --trace`: every trace event of the run as JSON lines, each with its scenario and its tracking row. */
export const TRACE_LINES_FORMAT: StreamedFormat<null> = {
  part: (r) => ({
    text: r.trace.map((e) => `${JSON.stringify({ scenario: r.scenario.name, ...e, tracking: trackingRow(e) })}\n`),
    tally: null,
  }),
  frame: () => ({ head: '', separator: '', tail: '' }),
};
