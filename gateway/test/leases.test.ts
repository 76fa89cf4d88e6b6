/**
 * A replica that dies mid-request leaves holds in Redis: its customers' reservations, concurrency
 * slots and daily-cap reservations. They are leased: renewed while the request lives, released once
 * the lease lapses (here 1 s; 60 s by default), so the customer is not blocked for ever. Runs on the
 * machine's real Redis; skipped, with the reason printed, where Redis is absent.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { RedisLedger } from "../src/admission/ledger.ts";
import { RedisRateLimiter } from "../src/admission/limits.ts";
import { RedisDailySpend } from "../src/admission/daily-spend.ts";
import { LeaseKeeper } from "../src/admission/leases.ts";
import { DEFAULT_TIERS } from "../src/admission/tiers.ts";
import { createLogger } from "../src/shared/log.ts";
import type { Db } from "../src/store/db.ts";

const REDIS = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const LEASE_MS = 1_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let redis: Redis | null = null;
let missing: string | null = null;
try {
  const { Redis } = await import("ioredis");
  redis = new Redis(REDIS, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  await redis.connect();
} catch (err) {
  missing = `Redis not reachable at ${REDIS}: ${(err as Error).message}`;
  console.log(`# skipping lease tests: ${missing}`);
}

after(() => redis?.disconnect());

/** One gateway replica's view of the shared state: its own lease keeper over the same Redis keys. */
function replica(prefix: string) {
  const leases = new LeaseKeeper(redis!, LEASE_MS, createLogger("silent"));
  const noReceipts = { query: async () => [{ s: "0" }] } as unknown as Db;
  return {
    leases,
    ledger: new RedisLedger(redis!, prefix, async () => ({ available: 100n, debt: 0n, spent: 0n, block: 1n }), leases),
    limiter: new RedisRateLimiter(redis!, prefix, leases),
    daily: new RedisDailySpend(noReceipts, redis!, prefix, leases),
  };
}

describe("Redis holds of a crashed replica", { skip: missing ?? false }, () => {
  const prefix = `tg-test-leases-${randomBytes(4).toString("hex")}`;
  const customer = "0x00000000000000000000000000000000000000c1";
  const tier = { ...DEFAULT_TIERS.hobby, concurrentRequests: 1 };
  let a: ReturnType<typeof replica>;
  let b: ReturnType<typeof replica>;

  before(() => {
    a = replica(prefix);
    b = replica(prefix);
  });
  after(async () => {
    a?.leases.stop();
    b?.leases.stop();
    const keys = await redis!.keys(`${prefix}:*`);
    if (keys.length > 0) await redis!.del(...keys);
  });

  let crashedHold = "";
  it("a live request's holds are renewed: after two leases the other replica is still refused", async () => {
    const r = await a.ledger.reserve(customer, 80n);
    assert.ok(r.ok);
    crashedHold = r.hold;
    assert.ok((await a.limiter.acquire(customer, tier, 10)).ok);
    assert.notEqual(await a.daily.reserve("key1", 100n, 80n), null);
    await sleep(2 * LEASE_MS + 300);
    assert.deepEqual(await b.ledger.reserve(customer, 30n), { ok: false, reason: "balance", spendable: 20n });
    const slot = await b.limiter.acquire(customer, tier, 10);
    assert.equal(slot.ok ? "acquired" : slot.code, "concurrency_limit");
    assert.equal(await b.daily.reserve("key1", 100n, 30n), null);
  });

  it("once the replica dies (no more renewals) they are released within a lease", async () => {
    a.leases.stop(); // the crash: nothing renews A's holds any more, nothing commits them
    await sleep(LEASE_MS + 300);
    const r = await b.ledger.reserve(customer, 30n);
    assert.ok(r.ok, "the customer's balance is free again");
    assert.equal((await b.ledger.state(customer))?.reserved, 30n);
    const slot = await b.limiter.acquire(customer, tier, 10);
    assert.ok(slot.ok, "the concurrency slot is free again");
    if (slot.ok) slot.release();
    assert.notEqual(await b.daily.reserve("key1", 100n, 30n), null, "the daily cap is free again");
  });

  it("a stalled replica that commits after its lease lapsed charges what it served without releasing twice", async () => {
    await a.ledger.commit(customer, 80n, 50n, crashedHold);
    const s = (await b.ledger.state(customer))!;
    assert.equal(s.reserved, 30n, "only the live reservation stays reserved");
    assert.equal(s.spent, 50n);
  });
});

describe("daily spend caps across replicas", { skip: missing ?? false }, () => {
  it("a cap holds across two replicas sharing Redis", async () => {
    const prefix = `tg-test-daily-${randomBytes(4).toString("hex")}`;
    const a = replica(prefix);
    const b = replica(prefix);
    try {
      const h = await a.daily.reserve("key2", 100n, 60n);
      assert.notEqual(h, null);
      await a.daily.commit("key2", 60n, 60n, h!);
      assert.equal(await b.daily.reserve("key2", 100n, 60n), null, "the other replica sees the 60 spent");
      assert.notEqual(await b.daily.reserve("key2", 100n, 40n), null);
    } finally {
      a.leases.stop();
      b.leases.stop();
      const keys = await redis!.keys(`${prefix}:*`);
      if (keys.length > 0) await redis!.del(...keys);
    }
  });
});
