/**
 * A promise a group commit settles once its batch is on disk (or failed). A batch nobody waits on
 * (removals only, a message a user of the node submitted) must not become an unhandled rejection.
 */
export function settleable(): { done: Promise<void>; settle(err?: Error): void } {
  let settle!: (err?: Error) => void;
  const done = new Promise<void>((resolve, reject) => (settle = (err) => (err ? reject(err) : resolve())));
  done.catch(() => undefined);
  return { done, settle };
}
