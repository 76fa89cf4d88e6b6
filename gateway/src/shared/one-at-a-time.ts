/**
 * A lane that runs async tasks one at a time, in the order they were given; a task that fails does
 * not hold up the next. The gateway's signer sends its transactions through one (batches, SLA
 * reports, arrears collections): viem reads the account's pending nonce while preparing each, so
 * two sends prepared at once would take the same nonce and one would be refused.
 */
export type Lane = <T>(task: () => Promise<T>) => Promise<T>;

export function oneAtATime(): Lane {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task, task);
    tail = run.catch(() => {});
    return run;
  };
}
