/**
 * Jobs for the JobThread test, run both on a thread (this module, as its body) and inline.
 * Each result says which thread computed it (0: the main thread).
 */
import { isMainThread, threadId } from "node:worker_threads";
import { serveJobs } from "../../src/shared/job-thread.ts";

export type FixtureJob = { op: "double" | "fail-on-thread" | "exit-on-thread" | "always-fail"; n: number };

export function runFixtureJob(job: FixtureJob): { value: number; threadId: number } {
  if (job.op === "always-fail") throw new Error(`job ${job.n} cannot be done`);
  if (!isMainThread && job.op === "fail-on-thread") throw new Error("only the thread fails");
  if (!isMainThread && job.op === "exit-on-thread") process.exit(1);
  return { value: job.n * 2, threadId };
}

if (!isMainThread) serveJobs(runFixtureJob);
