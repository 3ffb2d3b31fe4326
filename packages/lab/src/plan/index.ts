export { loadPlanFile } from './plan-loader';
export type * from './plan-model';
export { rehearse, type RehearsalAccounting, type RehearsalOptions, type RehearsalResult } from './rehearsal';
export { formatMs, type CheckFailure, type CheckpointVerdict, type MessageStanding } from './plan-verdict';
