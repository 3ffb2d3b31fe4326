import type { Clock, NodeContext, Resolver, TrustStore } from '@relaylab/core';
import { Deliverer } from './delivery';
import type { NodeTrace } from './node-trace';
import { ConnectionPool } from './pool';
import { DeliveryQueue, type QueueOptions } from './queue';
import { Spool } from './spool';
import { tlsVersionOptions } from './tls-socket';

/** What a node's outbound side needs; the lab's directory maps addresses to its nodes' ports. */
export interface OutboundOptions {
  ctx: NodeContext;
  /** This node's TLS identity when it connects out (key and chain, PEM) and the roots it trusts. */
  key?: string;
  chainPem?: string;
  trust: TrustStore;
  resolver: Resolver;
  clock: Clock;
  trace: NodeTrace;
  portOf(ip: string, host?: string): number;
  nodeAt(ip: string, port: number): string | undefined;
  maxMessagesPerConnection: number;
  spoolDir?: string;
  bodyBudget?: QueueOptions['bodyBudget'];
  backPressureAt?: QueueOptions['backPressureAt'];
  onFinalFailure: QueueOptions['onFinalFailure'];
  onDelayed?: QueueOptions['onDelayed'];
}

/** A queue per next hop, delivering over pooled connections under each connector's TLS policy. */
export function createOutbound(options: OutboundOptions): { queue: DeliveryQueue; pool: ConnectionPool; spool?: Spool } {
  const { ctx, clock, trace } = options;
  const pool = new ConnectionPool({ maxMessages: options.maxMessagesPerConnection, idleMs: 5000 });
  const deliverer = new Deliverer({
    identity: { hostname: ctx.spec.hostname, address: ctx.spec.address, key: options.key, cert: options.chainPem, versions: tlsVersionOptions(ctx.spec.tls) },
    resolver: options.resolver,
    clock,
    trust: options.trust,
    pool,
    trace,
    portOf: options.portOf,
    nodeAt: options.nodeAt,
  });
  const spool = options.spoolDir ? new Spool(options.spoolDir) : undefined;
  const queue = new DeliveryQueue(deliverer, {
    clock,
    trace,
    retry: ctx.preset.retry,
    maxConnectionsPerHop: 2,
    nodeAt: options.nodeAt,
    spool,
    bodyBudget: options.bodyBudget,
    backPressureAt: options.backPressureAt,
    onFinalFailure: options.onFinalFailure,
    onDelayed: options.onDelayed,
  });
  return { queue, pool, spool };
}
