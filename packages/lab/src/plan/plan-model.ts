import type { DnsSpec, Topology } from '@relaylab/core';
import type { Step } from '../scenario-model';

/** One stream of mail that flows throughout the rehearsal. */
export interface Direction {
  name: string;
  from: string;
  sender: string;
  to: string;
  /** Lab milliseconds between two messages, and of the first one. */
  intervalMs: number;
  startMs: number;
}

/** `n`, `<= n`, `>= n`: what a count must be. */
export interface Bound {
  op: '=' | '<=' | '>=';
  value: number;
  text: string;
}

export interface DirectionCheck {
  /** Share of 0..1. */
  delivered?: Bound;
  maxDelayMs?: number;
  maxDelayText?: string;
  authAs?: string;
  sfv?: string;
  bounced?: Bound;
  deferred?: Bound;
  queued?: Bound;
  deleted?: Bound;
  /** Per node, how many delivered messages went through it. */
  via?: Record<string, Bound>;
}

export interface Checkpoint {
  atMs: number;
  name: string;
  bounced?: Bound;
  deferred?: Bound;
  queued?: Bound;
  deleted?: Bound;
  directions: Record<string, DirectionCheck>;
  /** Made from a change's drainsWithin: it asserts what is queued, and does not start an interval. */
  generated?: boolean;
}

/**
 * One change of the timeline. Topology changes carry the whole topology as it is after them
 * (the loader applies them in order and checks each result), and the nodes to make again.
 */
export type PlanChange = { atMs: number; say: string } & (
  | { kind: 'topology'; topology: Topology; nodes: string[] }
  /** The whole zone as it is after the change, and the TTL its changed records carry. */
  | { kind: 'dns'; dns: DnsSpec; changed: string[]; ttlMs: number }
  | { kind: 'step'; step: Step }
);

export interface Plan {
  file: string;
  name: string;
  description?: string;
  topology: Topology;
  topologyFile?: string;
  durationMs: number;
  dnsTtlMs: number;
  messageSize: number;
  directions: Direction[];
  timeline: PlanChange[];
  checkpoints: Checkpoint[];
}
