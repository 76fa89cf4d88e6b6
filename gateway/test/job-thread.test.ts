/**
 * JobThread: jobs run on the thread; a job the thread fails, or a thread that dies, loses nothing
 * (run inline, where a real error reaches the caller); the next job starts a new thread.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { JobThread } from "../src/shared/job-thread.ts";
import { runFixtureJob, type FixtureJob } from "./helpers/job-thread-fixture.ts";

describe("JobThread", () => {
  const jobs = new JobThread<FixtureJob, { value: number; threadId: number }>(new URL("./helpers/job-thread-fixture.ts", import.meta.url), runFixtureJob);
  after(() => jobs.close());

  it("runs jobs on its thread, in order", async () => {
    const results = await Promise.all([1, 2, 3].map((n) => jobs.run({ op: "double", n })));
    assert.deepEqual(results.map((r) => r.value), [2, 4, 6]);
    assert.ok(results.every((r) => r.threadId !== 0 && r.threadId === results[0]!.threadId), "one thread, not the main one");
    assert.equal(jobs.backlog, 0);
    assert.equal(jobs.inlined, 0);
  });

  it("runs inline a job the thread fails; a job that fails inline too rejects with its error", async () => {
    const r = await jobs.run({ op: "fail-on-thread", n: 5 });
    assert.deepEqual(r, { value: 10, threadId: 0 });
    await assert.rejects(jobs.run({ op: "always-fail", n: 7 }), /job 7 cannot be done/);
    assert.equal(jobs.inlined, 2, "each failed on the thread, then ran inline");
  });

  it("runs inline what a dying thread held, and starts a new thread for the next job", async () => {
    const before = (await jobs.run({ op: "double", n: 0 })).threadId;
    const dying = jobs.run({ op: "exit-on-thread", n: 4 });
    const queued = jobs.run({ op: "double", n: 6 });
    assert.deepEqual(await dying, { value: 8, threadId: 0 });
    assert.deepEqual(await queued, { value: 12, threadId: 0 }, "queued behind the death: run inline");
    const next = await jobs.run({ op: "double", n: 1 });
    assert.equal(next.value, 2);
    assert.ok(next.threadId !== 0 && next.threadId !== before, `a new thread (${before} → ${next.threadId})`);
  });
});
