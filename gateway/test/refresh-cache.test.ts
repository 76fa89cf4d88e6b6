import { test } from "node:test";
import assert from "node:assert/strict";
import { RefreshCache } from "../src/shared/refresh-cache.ts";

/** A cache over a fake table whose loads the test releases by hand, on a clock the test moves. */
function rig(ttlMs = 1000) {
  let clock = 0;
  const table = new Map<string, string>([["k", "v1"]]);
  const waiting: (() => void)[] = [];
  let loads = 0;
  const cache = new RefreshCache<string | null>(
    ttlMs,
    async (key) => {
      loads++;
      const value = table.get(key) ?? null; // read when the load starts, like a query
      await new Promise<void>((r) => waiting.push(r));
      return value;
    },
    { now: () => clock },
  );
  const release = async () => {
    for (const r of waiting.splice(0)) r();
    await new Promise((r) => setImmediate(r));
  };
  return { cache, table, release, loads: () => loads, tick: (ms: number) => (clock += ms) };
}

test("a fresh entry is served without a load; concurrent misses share one load", async () => {
  const r = rig();
  const a = r.cache.get("k");
  const b = r.cache.get("k");
  await r.release();
  assert.deepEqual(await Promise.all([a, b]), ["v1", "v1"]);
  assert.equal(r.loads(), 1);
  r.tick(400);
  assert.equal(await r.cache.get("k"), "v1");
  assert.equal(r.loads(), 1);
});

test("past half its lifetime an entry is still served at once while it reloads in the background", async () => {
  const r = rig();
  const first = r.cache.get("k");
  await r.release();
  await first;
  r.table.set("k", "v2");
  r.tick(600);
  assert.equal(await r.cache.get("k"), "v1", "served without waiting for the reload");
  assert.equal(r.loads(), 2);
  await r.release();
  assert.equal(await r.cache.get("k"), "v2");
});

test("an entry past its lifetime is never served: the read waits for the load", async () => {
  const r = rig();
  const first = r.cache.get("k");
  await r.release();
  await first;
  r.table.set("k", "v2");
  r.tick(1000);
  let settled = false;
  const p = r.cache.get("k").then((v) => ((settled = true), v));
  await new Promise((res) => setImmediate(res));
  assert.equal(settled, false);
  await r.release();
  assert.equal(await p, "v2");
});

test("delete wins over a load in flight: a revoked key is not put back by a stale read", async () => {
  const r = rig();
  const first = r.cache.get("k");
  await r.release();
  await first;
  r.tick(600);
  await r.cache.get("k"); // starts a background reload that read "v1"
  r.table.delete("k"); // revoked…
  r.cache.delete("k"); // …and evicted while that reload is in flight
  await r.release();
  const after = r.cache.get("k");
  assert.equal(r.loads(), 3, "the read after delete loads again");
  await r.release();
  assert.equal(await after, null);
});

test("a failed load is not cached: the next read tries again", async () => {
  let calls = 0;
  const cache = new RefreshCache<string>(1000, async () => {
    calls++;
    if (calls === 1) throw new Error("database down");
    return "ok";
  });
  await assert.rejects(cache.get("k"), /database down/);
  assert.equal(await cache.get("k"), "ok");
  assert.equal(calls, 2);
});
