import type { TraceEvent } from './trace';

/**
 * relaylab's trace events in the vocabulary administrators read: Get-MessageTrackingLog's
 * `EventId` and `Source` (docs/exchange.md, "Message tracking and queues"). The trace keeps its own
 * event types because they carry more than a tracking row (TLS facts, connector decisions); this
 * one table says which row each would be, so reports and tools can speak Exchange.
 */
export type TrackingEventId = 'RECEIVE' | 'SUBMIT' | 'SEND' | 'DELIVER' | 'DEFER' | 'FAIL' | 'DSN' | 'RESOLVE' | 'DROP';
export type TrackingSource = 'SMTP' | 'STOREDRIVER' | 'ROUTING' | 'AGENT' | 'DSN' | 'QUEUE';

export interface TrackingRow {
  eventId: TrackingEventId;
  source: TrackingSource;
}

/** The tracking row an event stands for, or undefined for lab-only events (faults, header edits, restores). */
export function trackingRow(event: TraceEvent): TrackingRow | undefined {
  switch (event.type) {
    case 'submitted':
      return { eventId: 'RECEIVE', source: 'STOREDRIVER' };
    case 'received':
      return { eventId: 'RECEIVE', source: 'SMTP' };
    case 'retargeted':
      // the categorizer resolving a recipient to its RemoteRoutingAddress
      return { eventId: 'RESOLVE', source: 'ROUTING' };
    case 'deleted':
      // a mail flow rule's DeleteMessage: dropped without a DSN
      return { eventId: 'DROP', source: 'AGENT' };
    case 'refused':
      return { eventId: 'FAIL', source: 'SMTP' };
    case 'attempt':
      return event.outcome === 'sent'
        ? { eventId: 'SEND', source: 'SMTP' }
        : event.outcome === 'deferred'
          ? { eventId: 'DEFER', source: 'SMTP' }
          : { eventId: 'FAIL', source: 'SMTP' };
    case 'delivered':
      return { eventId: 'DELIVER', source: 'STOREDRIVER' };
    case 'handedOff':
      // what the tracking log shows as the SEND to a host the lab does not model
      return { eventId: 'SEND', source: 'SMTP' };
    case 'deferred':
      return { eventId: 'DEFER', source: 'QUEUE' };
    case 'rejected':
      return { eventId: 'FAIL', source: 'SMTP' };
    case 'bounced':
      return { eventId: 'FAIL', source: 'QUEUE' };
    case 'dsn':
      return { eventId: 'DSN', source: 'DSN' };
    case 'header':
    case 'forwarded':
    case 'fault':
    case 'restored':
      return undefined;
  }
}
