/**
 * Two gateway replicas on the machine's real PostgreSQL (fresh schema) and Redis: rate limits and
 * reservations hold across both, exactly one replica posts batches, and every receipt is settled
 * exactly once. Skipped, with the reason printed, where PostgreSQL or Redis is absent.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { randomBytes } from "node:crypto";
import OpenAI from "openai";
import { exactCost, settlementAbi } from "@tollgate/protocol";
import { COMPLETION_PRICE, GATEWAY_ID, MODEL, PROMPT_PRICE, loginAndCreateKey, startEnv, startGateway, startRig, stopRig, waitFor, type Env, type WorkerRig } from "./helpers/stack.ts";
import { ANVIL_KEYS, available, fundCustomer } from "./helpers/chain.ts";
import { countChatPromptTokens as countChatPrompt } from "@tollgate/protocol/tokens";
import { chargeUnits } from "../src/metering/receipts.ts";
import type { Gateway } from "../src/server.ts";
import { TEST_PG as PG, TEST_REDIS as REDIS, postgresMissing, redisMissing } from "./helpers/services.ts";

const missing = (await postgresMissing()) ?? (await redisMissing());
if (missing) console.log(`# skipping replica tests: ${missing}`);

const MAX_TOKENS = 100;
const messages = [{ role: "user" as const, content: "Count to fifty." }];
const RESERVE = chargeUnits(exactCost(BigInt(Math.ceil(countChatPrompt(messages) * 1.05) + 8), BigInt(MAX_TOKENS), PROMPT_PRICE, COMPLETION_PRICE));

describe("two replicas on PostgreSQL and Redis", { skip: missing ?? false }, () => {
  let env: Env;
  let a: { gw: Gateway; url: string };
  let b: { gw: Gateway; url: string };
  let rigs: WorkerRig[] = [];
  const schema = `t_gw_${Date.now()}_${randomBytes(3).toString("hex")}`;
  const prefix = `tg-test-${schema}`;
  let limitedKey: string;
  let richKey: string;
  const rich = () => env.chain.wallet(ANVIL_KEYS[9]!);

  before(async () => {
    env = await startEnv({ providers: 2, deposit: 50_000_000n });
    await fundCustomer(env.contracts, env.deployer, rich(), env.chain.publicClient, RESERVE * 10n);
    // Sign-in: 4 a minute per client address, the client named by X-Forwarded-For from 127.0.0.1.
    const shared = { databaseUrl: PG, databaseSchema: schema, redisUrl: REDIS, redisPrefix: prefix, epochMs: 3_600_000, authRequestsPerMinute: 4, trustProxy: "127.0.0.1" };
    const tiers = {
      hobby: { name: "hobby" as const, index: 0, maxPromptTokens: 2_000, maxOutputTokens: 500, requestsPerMinute: 10, tokensPerMinute: 10_000_000, concurrentRequests: 3 },
      pro: { name: "pro" as const, index: 1, maxPromptTokens: 2_000, maxOutputTokens: 500, requestsPerMinute: 10_000, tokensPerMinute: 100_000_000, concurrentRequests: 200 },
    };
    a = await startGateway(env, { ...shared, tiers });
    b = await startGateway(env, { ...shared, tiers });
    const sim = { ttftMs: 400, tokensPerSecond: 400, minCompletionTokens: 60, maxCompletionTokens: 90 };
    rigs = [await startRig(env, a.url, 0, 0, sim), await startRig(env, b.url, 1, 0, sim)];
    const leader = a.gw.ctx.isLeader() ? a.gw : b.gw;
    await leader.follower.syncOnce();
    ({ key: limitedKey } = await loginAndCreateKey(a.url, env.customer, env.chain.chainId));
    ({ key: richKey } = await loginAndCreateKey(b.url, rich(), env.chain.chainId));
    await a.gw.setTier(rich().account.address, "pro");
    await waitFor(() => [a, b].every((x) => x.gw.ctx.registry.all().filter((w) => x.gw.ctx.registry.alive(w) && x.gw.ctx.reads.cachedPrice(w.provider, MODEL)).length === 2), 10_000, "both replicas see both workers");
  });

  after(async () => {
    for (const r of rigs) await stopRig(r);
    await a?.gw.close();
    await b?.gw.close();
    await env?.stop();
    const { default: pg } = await import("pg");
    const c = new pg.Client({ connectionString: PG });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
    const { Redis } = await import("ioredis");
    const r = new Redis(REDIS);
    const keys = await r.keys(`${prefix}:*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
  });

  it("exactly one replica posts batches", () => {
    assert.equal([a.gw.ctx.isLeader(), b.gw.ctx.isLeader()].filter(Boolean).length, 1);
  });

  it("holds the concurrency limit across both replicas", async () => {
    const ca = new OpenAI({ baseURL: `${a.url}/v1`, apiKey: limitedKey, maxRetries: 0 });
    const cb = new OpenAI({ baseURL: `${b.url}/v1`, apiKey: limitedKey, maxRetries: 0 });
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => (i % 2 ? ca : cb).chat.completions.create({ model: MODEL, messages, max_tokens: 20 })));
    const ok = results.filter((r) => r.status === "fulfilled").length;
    const limited = results.filter((r) => r.status === "rejected" && (r.reason as { status?: number }).status === 429);
    assert.equal(ok, 3, "three concurrent requests in total, whichever replica they reach");
    assert.equal(limited.length, 5);
    assert.ok(Number((limited[0] as PromiseRejectedResult).reason.headers.get("retry-after")) >= 1, "429 carries retry-after");
  });

  it("holds the sign-in limit across both replicas", async () => {
    const client = { "x-forwarded-for": "192.0.2.44" };
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await fetch(`${(i % 2 ? a : b).url}/v1/auth/nonce`, { headers: client })).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429, 429, 429], "4 a minute in total, whichever replica answers");
  });

  it("holds requests per minute across both replicas", async () => {
    // Stay inside one one-minute window.
    const msLeft = 60_000 - (Date.now() % 60_000);
    if (msLeft < 8_000) await new Promise((r) => setTimeout(r, msLeft + 100));
    const ca = new OpenAI({ baseURL: `${a.url}/v1`, apiKey: limitedKey, maxRetries: 0 });
    const cb = new OpenAI({ baseURL: `${b.url}/v1`, apiKey: limitedKey, maxRetries: 0 });
    let ok = 0;
    let limited = 0;
    // 3 already used in this minute by the previous test (if the window did not roll over).
    for (let i = 0; i < 12; i++) {
      try {
        await (i % 2 ? ca : cb).chat.completions.create({ model: MODEL, messages, max_tokens: 5 });
        ok++;
      } catch (e) {
        if ((e as { status?: number }).status === 429) limited++;
        else throw e;
      }
    }
    assert.ok(ok <= 10 && ok >= 7, `at most 10 per minute in total (got ${ok})`);
    assert.equal(ok + limited, 12);
    assert.ok(limited >= 2);
  });

  it("never overspends: 40 concurrent requests over both replicas against a balance for 10", async () => {
    const ca = new OpenAI({ baseURL: `${a.url}/v1`, apiKey: richKey, maxRetries: 0 });
    const cb = new OpenAI({ baseURL: `${b.url}/v1`, apiKey: richKey, maxRetries: 0 });
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => (i % 2 ? ca : cb).chat.completions.create({ model: MODEL, messages, max_tokens: MAX_TOKENS, seed: i })));
    const ok = results.filter((r) => r.status === "fulfilled").length;
    const refused = results.filter((r) => r.status === "rejected" && (r.reason as { status?: number }).status === 402).length;
    assert.equal(ok, 10);
    assert.equal(refused, 30);
  });

  it("settles every receipt exactly once", async () => {
    const leader = a.gw.ctx.isLeader() ? a.gw : b.gw;
    const other = leader === a.gw ? b.gw : a.gw;
    await other.poster.tick(true); // the non-leader never posts
    await leader.poster.tick(true);
    await waitFor(async () => {
      await leader.follower.syncOnce();
      const rows = await leader.ctx.db.query(`SELECT COUNT(*) AS n FROM receipts WHERE status <> 3 AND (batch_id IS NULL OR batch_id NOT IN (SELECT id FROM batches WHERE state = 'settled'))`);
      return Number(rows[0]!.n) === 0;
    }, 30_000, "all receipts settled");
    const receipts = Number((await leader.ctx.db.query(`SELECT COUNT(*) AS n FROM receipts WHERE status <> 3`))[0]!.n);
    const batches = await leader.ctx.db.query(`SELECT id, receipt_count FROM batches WHERE state = 'settled' ORDER BY id`);
    const inBatches = batches.reduce((s, r) => s + Number(r.receipt_count), 0);
    assert.equal(inBatches, receipts, "each receipt in exactly one settled batch");
    const next = (await env.chain.publicClient.readContract({ address: env.contracts.settlement, abi: settlementAbi, functionName: "nextBatchId", args: [GATEWAY_ID] })) as bigint;
    assert.equal(next, BigInt(batches.length), "the chain holds exactly these batches");
    const skipped = await env.chain.publicClient.getContractEvents({ address: env.contracts.settlement, abi: settlementAbi, eventName: "EntrySkipped", fromBlock: 0n });
    assert.equal(skipped.length, 0);
    assert.ok((await available(env.contracts, env.chain.publicClient, rich().account.address)) >= 0n);
  });
});
