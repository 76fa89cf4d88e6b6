/**
 * Routing state without a chain: the provider-state cache keeps the newest answer when reads come
 * back out of order, re-reads a negative answer once it is older than its TTL, and a 503 explains
 * itself at debug level (each worker and why it was passed over).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Writable } from "node:stream";
import type { Address, PublicClient } from "viem";
import { ProviderReads } from "../src/routing/chain-reads.ts";
import { WorkerRegistry } from "../src/routing/registry.ts";
import { eligible, warmMissingReads } from "../src/routing/select.ts";
import { ProviderEvents } from "../src/routing/provider-events.ts";
import { createLogger } from "../src/shared/log.ts";
import { waitFor } from "./helpers/stack.ts";
import type { Db } from "../src/store/db.ts";

const MODEL = "m-1";
const P = (n: number) => `0x${n.toString(16).padStart(40, "0")}` as Address;
const REGISTRY = P(0xaa);
const STAKING = P(0xbb);

type Pending = { fn: string; provider: Address; resolve: (v: unknown) => void };

/** A chain client whose reads wait until the test answers them, in whatever order it likes. */
function heldClient() {
  const pending: Pending[] = [];
  const client = {
    readContract: ({ functionName, args }: { functionName: string; args: unknown[] }) => new Promise((resolve) => pending.push({ fn: functionName, provider: args[0] as Address, resolve })),
  } as unknown as PublicClient;
  return { client, pending };
}

/** A client answering at once from a table (isActive per provider; every model priced 1/2). */
function tableClient(active: Map<Address, boolean>, reads: string[] = []): PublicClient {
  return {
    readContract: async ({ functionName, args }: { functionName: string; args: unknown[] }) => {
      reads.push(functionName);
      if (functionName === "isActive") return active.get(args[0] as Address) ?? false;
      if (functionName === "priceInForce") return [1n, 2n, true];
      return { contextLength: 8192 };
    },
  } as unknown as PublicClient;
}

const tick = () => new Promise((r) => setImmediate(r));

/** A registry loaded (as after a restart) from rows; `seenAgoMs` per worker. */
async function registryOf(rows: { id: string; provider: Address; seenAgoMs: number; draining?: boolean; models?: string[] }[], log?: ReturnType<typeof createLogger>, heartbeatIntervalMs = 1_000): Promise<WorkerRegistry> {
  const now = Date.now();
  const db = {
    query: async () =>
      rows.map((r, i) => ({
        id: r.id,
        worker: P(0x1000 + i),
        provider: r.provider,
        endpoint: `http://127.0.0.1:${9000 + i}`,
        models: JSON.stringify(r.models ?? [MODEL]),
        max_concurrency: 4,
        issued_at: "1",
        token_hash: "00",
        token_nonce: `n${i}`,
        draining: r.draining ?? false,
        health: null,
        last_seen_ms: now - r.seenAgoMs,
      })),
  } as unknown as Db;
  const registry = new WorkerRegistry(db, Buffer.alloc(32), heartbeatIntervalMs, log);
  await registry.sync();
  return registry;
}

describe("provider-state cache", () => {
  it("keeps the newest read when an older one answers last (a stale `inactive` never overwrites `active`)", async () => {
    const { client, pending } = heldClient();
    const reads = new ProviderReads(client, REGISTRY, STAKING);
    const older = reads.isActive(P(1), true); // issued while the provider was not staked yet
    const newer = reads.isActive(P(1), true); // issued after it staked
    await tick();
    assert.equal(pending.length, 2);
    pending[1]!.resolve(true);
    assert.equal(await newer, true);
    pending[0]!.resolve(false);
    assert.equal(await older, true, "the late answer of the older read reports the newest state");
    assert.equal(reads.cachedActive(P(1)), true, "and leaves it cached");
  });

  it("re-reads an `inactive` answer older than the TTL before a request is refused, but not a fresh one", async () => {
    const active = new Map<Address, boolean>([[P(1), false]]);
    const log: string[] = [];
    const reads = new ProviderReads(tableClient(active, log), REGISTRY, STAKING, 1_000);
    const registry = await registryOf([{ id: "w1", provider: P(1), seenAgoMs: 0 }]);
    assert.equal(await warmMissingReads(registry, reads, MODEL), true, "nothing cached: read");
    assert.equal(eligible(registry, reads, MODEL, {}).length, 0, "inactive");
    active.set(P(1), true); // the provider stakes; suppose the event was missed
    log.length = 0;
    assert.equal(await warmMissingReads(registry, reads, MODEL), false, "an answer younger than the TTL is trusted");
    assert.equal(log.length, 0);
    assert.equal(await warmMissingReads(registry, reads, MODEL, Date.now() + 1_001), true, "past the TTL it is read again");
    assert.ok(log.includes("isActive"), "read from the chain");
    assert.equal(eligible(registry, reads, MODEL, {}).length, 1, "and the worker is routable");
  });
});

describe("provider-event follower", () => {
  it("a provider that staked between the start-up read and the follower's first block is routable, not stuck inactive", async () => {
    const active = new Map<Address, boolean>([[P(1), false]]);
    const client = Object.assign(tableClient(active), { getBlockNumber: async () => 10n, getLogs: async () => [] }) as PublicClient;
    const reads = new ProviderReads(client, REGISTRY, STAKING);
    const registry = await registryOf([{ id: "w", provider: P(1), seenAgoMs: 0 }]);
    await Promise.all([reads.isActive(P(1), true), reads.price(P(1), MODEL, true)]); // the gateway's start-up read
    active.set(P(1), true); // Staked mined now, at or before the block the follower starts from
    const events = new ProviderEvents({ client, registryAddress: REGISTRY, stakingAddress: STAKING, reads, workers: registry, log: createLogger("silent"), pollMs: 60_000 });
    await events.start();
    try {
      assert.equal(reads.cachedActive(P(1)), true);
      assert.equal(eligible(registry, reads, MODEL, {}).length, 1);
    } finally {
      await events.stop();
    }
  });
});

describe("a request no worker can take", () => {
  it("logs at debug level, per worker, why each was passed over", async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) });
    const log = createLogger("debug", sink as never);
    const registry = await registryOf(
      [
        { id: "stale", provider: P(1), seenAgoMs: 3_600 }, // 3 × 1 s + 0.5 s window
        { id: "draining", provider: P(1), seenAgoMs: 0, draining: true },
        { id: "inactive", provider: P(2), seenAgoMs: 0 },
        { id: "unread", provider: P(3), seenAgoMs: 0 },
        { id: "other-model", provider: P(1), seenAgoMs: 0, models: ["m-2"] },
        { id: "expensive", provider: P(4), seenAgoMs: 0 },
      ],
      log,
    );
    const reads = new ProviderReads(tableClient(new Map([[P(1), true], [P(2), false], [P(4), true]])), REGISTRY, STAKING);
    for (const p of [P(1), P(2), P(4)]) await Promise.all([reads.isActive(p), reads.price(p, MODEL)]);
    assert.deepEqual(eligible(registry, reads, MODEL, { prompt: 0n }), []);
    await new Promise((r) => setImmediate(r));
    const line = lines.find((l) => l.msg === "no eligible worker") as { level: number; model: string; livenessWindowMs: number; workers: { workerId: string; reason: string; heartbeatAgeMs: number }[] } | undefined;
    assert.ok(line, "a debug line explains the 503");
    assert.equal(line.level, 20, "debug");
    assert.equal(line.model, MODEL);
    assert.equal(line.livenessWindowMs, 3_500);
    const why = Object.fromEntries(line.workers.map((w) => [w.workerId, w.reason]));
    assert.deepEqual(why, {
      stale: "stale heartbeat",
      draining: "draining",
      inactive: "provider inactive (unstaked, jailed or unregistered)",
      unread: "provider state not read yet",
      "other-model": "model not served by this worker",
      expensive: "price above the customer's cap",
    });
    assert.ok(line.workers.find((w) => w.workerId === "stale")!.heartbeatAgeMs >= 3_600);
  });

  it("says nothing when a worker is eligible, or when debug logging is off", async () => {
    const lines: unknown[] = [];
    const sink = new Writable({ write: (c, _e, cb) => (lines.push(c), cb()) });
    const reads = new ProviderReads(tableClient(new Map([[P(1), true]])), REGISTRY, STAKING);
    await Promise.all([reads.isActive(P(1)), reads.price(P(1), MODEL)]);
    const debug = await registryOf([{ id: "ok", provider: P(1), seenAgoMs: 0 }], createLogger("debug", sink as never));
    assert.equal(eligible(debug, reads, MODEL, {}).length, 1);
    const info = await registryOf([{ id: "stale", provider: P(1), seenAgoMs: 60_000 }], createLogger("info", sink as never));
    assert.equal(eligible(info, reads, MODEL, {}).length, 0);
    await new Promise((r) => setImmediate(r));
    assert.equal(lines.length, 0);
  });
});

describe("worker liveness", () => {
  it("a stall of the gateway's own event loop does not make a worker unroutable; silence while it runs does", async () => {
    const registry = await registryOf([{ id: "w", provider: P(1), seenAgoMs: 0 }], undefined, 100); // alive for 3 × 100 + 500 ms
    const w = registry.get("w")!;
    await new Promise((r) => setTimeout(r, 250)); // the stall clock ticking normally
    w.lastSeenMs = Date.now();
    const blockedUntil = Date.now() + 1_200; // a long synchronous task: no heartbeat can be read meanwhile
    while (Date.now() < blockedUntil);
    assert.ok(Date.now() - w.lastSeenMs > registry.livenessWindowMs, "the last beat is older than the window");
    assert.equal(registry.alive(w), true, "but the gateway, not the worker, was silent");
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(registry.alive(w), true, "still after the stall clock recorded the stall");
    await waitFor(() => !registry.alive(w), 10_000, "the worker to go stale once the gateway runs without hearing from it");
  });
});
