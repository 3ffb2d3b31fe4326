import type { Checkpoint, Direction, Plan, PlanChange } from './plan-model';

/** Everything the rehearsal does, at its lab time. */
export type AgendaItem =
  | { atMs: number; kind: 'change'; change: PlanChange }
  | { atMs: number; kind: 'send'; direction: Direction; index: number }
  | { atMs: number; kind: 'checkpoint'; checkpoint: Checkpoint; fromMs: number };

/** At one instant: the change first (mail sent then meets the new world), then mail, then the checkpoint. */
const RANK = { change: 0, send: 1, checkpoint: 2 } as const;

/** The plan's changes, traffic and checkpoints in the order they happen. Pure. */
export function agendaOf(plan: Plan): AgendaItem[] {
  const items: AgendaItem[] = plan.timeline.map((change) => ({ atMs: change.atMs, kind: 'change' as const, change }));
  for (const direction of plan.directions) {
    for (let index = 0, t = direction.startMs; t < plan.durationMs; index++, t = direction.startMs + index * direction.intervalMs) {
      items.push({ atMs: Math.round(t), kind: 'send', direction, index });
    }
  }
  let fromMs = 0;
  for (const checkpoint of plan.checkpoints) {
    items.push({ atMs: checkpoint.atMs, kind: 'checkpoint', checkpoint, fromMs });
    if (!checkpoint.generated) fromMs = checkpoint.atMs;
  }
  return items.sort((a, b) => a.atMs - b.atMs || RANK[a.kind] - RANK[b.kind]);
}
