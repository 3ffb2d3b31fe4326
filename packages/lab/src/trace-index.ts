import type { Endpoint, ForwardedEvent, TraceEvent } from '@relaylab/core';

/** The two lookups reading a message's fate needs: its events, and the pass-through links it crossed. */
export interface TraceLookup {
  readonly events: readonly TraceEvent[];
  /** Every event that names this Message-ID, in trace order (all copies that share it). */
  of(messageId: string | undefined): readonly TraceEvent[];
  /** The first connection a pass-through device made onward for this client connection. */
  forwarded(device: string, client: Endpoint): ForwardedEvent | undefined;
}

const isLink = (e: TraceEvent, device: string, client: Endpoint): e is ForwardedEvent =>
  e.type === 'forwarded' && e.node === device && e.client.ip === client.ip && e.client.port === client.port;
const linkKey = (device: string, client: Endpoint) => JSON.stringify([device, client.ip, client.port]);

/** One look-up, one scan: for a single message, building an index would cost more than it saves. */
class TraceScan implements TraceLookup {
  constructor(readonly events: readonly TraceEvent[]) {}

  of(messageId: string | undefined): readonly TraceEvent[] {
    return messageId === undefined ? [] : this.events.filter((e) => 'messageId' in e && e.messageId === messageId);
  }

  forwarded(device: string, client: Endpoint): ForwardedEvent | undefined {
    return this.events.find((e): e is ForwardedEvent => isLink(e, device, client));
  }
}

/**
 * One scenario's trace, indexed once: judging looks up every message's events, so scanning the
 * whole trace per message made a scenario's judgement quadratic in its messages. Lookups return
 * the same events, in the same (trace) order, as the scans of TraceScan. The events must not
 * change once indexed.
 */
export class TraceIndex implements TraceLookup {
  private readonly byMessageId = new Map<string, TraceEvent[]>();
  /** Pass-through links carry no Message-ID: keyed by device and client end, the first one kept. */
  private readonly links = new Map<string, ForwardedEvent>();

  constructor(readonly events: readonly TraceEvent[]) {
    for (const e of events) {
      if ('messageId' in e && typeof e.messageId === 'string') {
        const list = this.byMessageId.get(e.messageId);
        if (list) list.push(e);
        else this.byMessageId.set(e.messageId, [e]);
      }
      if (e.type === 'forwarded') {
        const key = linkKey(e.node, e.client);
        if (!this.links.has(key)) this.links.set(key, e);
      }
    }
  }

  of(messageId: string | undefined): readonly TraceEvent[] {
    return (messageId !== undefined && this.byMessageId.get(messageId)) || [];
  }

  forwarded(device: string, client: Endpoint): ForwardedEvent | undefined {
    return this.links.get(linkKey(device, client));
  }
}

/** A trace as its events (each look-up scans them), or indexed once (TraceIndex) to follow many messages. */
export type Trace = readonly TraceEvent[] | TraceLookup;

const isEvents = (trace: Trace): trace is readonly TraceEvent[] => Array.isArray(trace);

export const lookupIn = (trace: Trace): TraceLookup => (isEvents(trace) ? new TraceScan(trace) : trace);
