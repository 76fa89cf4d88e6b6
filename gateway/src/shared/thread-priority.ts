/**
 * Linux: lowers the calling thread's priority to `nice`, so that waking it for background work
 * (the database, a long count, a batch's tree) does not preempt the event loop that relays tokens.
 * A thread id passed to setpriority names that one thread there; elsewhere, or when not permitted,
 * the thread keeps the process's priority.
 */
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";

export function lowerThisThreadPriority(nice: number): void {
  if (process.platform !== "linux" || nice <= 0) return;
  try {
    setPriority(Number(readlinkSync("/proc/thread-self").split("/").pop()), nice);
  } catch {
    // not permitted
  }
}
