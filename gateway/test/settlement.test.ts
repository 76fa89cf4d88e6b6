/**
 * Batches on a real chain: posted, provable, exactly once across crashes at every step, and a
 * skipped entry turning into debt that blocks the customer.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import type { Hex } from "viem";
import { entryCharge, receiptLeafHash, settlementAbi, testUsdcAbi, verifyReceiptProof, type Receipt } from "@tollgate/protocol";
import { GATEWAY_ID, MODEL, freshDataDir, loginAndCreateKey, removeDir, startEnv, startGateway, followingRig, waitFor, type Env } from "./helpers/stack.ts";
import { available, fundCustomer } from "./helpers/chain.ts";
import type { Gateway } from "../src/server.ts";
import { parseEntries } from "../src/settlement/follower.ts";

let env: Env;
let worker: ReturnType<typeof followingRig>;
let dataDir: string;
let key: string;

class Crash extends Error {}

const nextBatchId = () => env.chain.publicClient.readContract({ address: env.contracts.settlement, abi: settlementAbi, functionName: "nextBatchId", args: [GATEWAY_ID] }) as Promise<bigint>;

async function traffic(url: string, n: number): Promise<void> {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
  for (let i = 0; i < n; i++) await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: `request ${i}` }], max_tokens: 10 });
}

async function settledAll(gw: Gateway): Promise<void> {
  await waitFor(async () => {
    await gw.follower.syncOnce();
    const rows = await gw.ctx.db.query(`SELECT state FROM batches WHERE state <> 'abandoned'`);
    return rows.every((r) => r.state === "settled");
  }, 20_000, "batches settled");
}

before(async () => {
  env = await startEnv({ providers: 1, deposit: 20_000_000n });
  worker = followingRig(env);
  dataDir = await freshDataDir();
});

/**
 * Every incarnation of the gateway, so teardown closes whichever a failed test left open. Each one
 * listens on a port of its own (port 0): a port reused across incarnations could be taken in between
 * (EADDRINUSE), and one incarnation left open by a failure then failed every later test.
 */
const started: Gateway[] = [];
async function open(over: Parameters<typeof startGateway>[1]): Promise<{ gw: Gateway; url: string }> {
  const g = await startGateway(env, { port: 0, dataDir, manualLoops: true, ...over });
  started.push(g.gw);
  return g;
}

after(async () => {
  for (const gw of started) await gw.close().catch(() => {});
  await worker?.stop();
  if (dataDir) removeDir(dataDir);
  await env?.stop();
});

describe("batch posting", () => {
  it("posts a batch whose receipts anyone can prove against the on-chain root", async () => {
    const { gw, url } = await open({});
    try {
      await worker.serveWith(url);
      await gw.follower.syncOnce();
      ({ key } = await loginAndCreateKey(url, env.customer, env.chain.chainId));
      const before = await available(env.contracts, env.chain.publicClient, env.customer.account.address);
      const first = await nextBatchId();
      await traffic(url, 5);
      await gw.poster.tick(true);
      await settledAll(gw);
      assert.equal(await nextBatchId(), first + 1n);
      const pub = (await (await fetch(`${url}/v1/batches/${first}/receipts`)).json()) as { receiptsRoot: Hex; receipts: Record<string, string | number>[] };
      assert.equal(pub.receipts.length, 5);
      const record = (await env.chain.publicClient.readContract({ address: env.contracts.settlement, abi: settlementAbi, functionName: "batchOf", args: [GATEWAY_ID, first] })) as { receiptsRoot: Hex };
      assert.equal(pub.receiptsRoot, record.receiptsRoot);
      const one = (await (await fetch(`${url}/v1/receipts/${pub.receipts[0]!.id}`)).json()) as { receipt: Record<string, string | number>; proof: Hex[]; batch: { batchId: string } };
      const r = one.receipt;
      const leaf: Receipt = {
        id: r.id as Hex, customer: r.customer as Hex, provider: r.provider as Hex, worker: r.worker as Hex, model: r.model as Hex,
        promptTokens: Number(r.promptTokens), cachedTokens: Number(r.cachedTokens), completionTokens: Number(r.completionTokens), reasoningTokens: Number(r.reasoningTokens),
        promptPrice: BigInt(r.promptPrice!), completionPrice: BigInt(r.completionPrice!), cost: BigInt(r.cost!), ttftMs: Number(r.ttftMs), durationMs: Number(r.durationMs),
        status: Number(r.status), servedAt: BigInt(r.servedAt!),
      };
      assert.equal(one.batch.batchId, String(first));
      assert.ok(verifyReceiptProof(record.receiptsRoot, leaf, one.proof), "proof verifies off-chain");
      assert.equal(await env.chain.publicClient.readContract({ address: env.contracts.settlement, abi: settlementAbi, functionName: "verifyReceipt", args: [GATEWAY_ID, first, receiptLeafHash(leaf), one.proof] }), true, "and on-chain");
      const entries = parseEntries((await gw.ctx.db.query(`SELECT entries FROM batches WHERE id = $1`, [first.toString()]))[0]!.entries);
      const charged = entries.reduce((s, e) => s + entryCharge(e), 0n);
      assert.equal(before - (await available(env.contracts, env.chain.publicClient, env.customer.account.address)), charged, "debited exactly the entries' charge");
    } finally {
      await gw.close();
    }
  });

  for (const stage of ["persisted", "sent"] as const) {
    it(`a gateway that dies right after the batch is ${stage} neither loses nor repeats it on restart`, async () => {
      const first = await open({ onBatchStage: async (s) => { if (s === stage) throw new Crash(stage); } });
      const idBefore = await nextBatchId();
      try {
        await worker.serveWith(first.url);
        await first.gw.follower.syncOnce();
        await traffic(first.url, 4);
        await assert.rejects(first.gw.poster.tick(true), Crash);
      } finally {
        await first.gw.close(); // the "crash": nothing after this point ran (and a failure above frees its PGlite directory)
      }
      if (stage === "sent") {
        // Sent is not yet mined: under CPU load anvil can answer a read before it has mined the
        // transaction, so wait for it rather than racing it (the flake seen in CI).
        await waitFor(async () => (await nextBatchId()) === idBefore + 1n, 10_000, "the sent batch to be mined");
      } else assert.equal(await nextBatchId(), idBefore);

      const second = await open({});
      try {
        await second.gw.poster.tick(true);
        await second.gw.poster.tick(true); // nothing left: must not post again
        await settledAll(second.gw);
        assert.equal(await nextBatchId(), idBefore + 1n, "exactly one batch on-chain");
        const rows = await second.gw.ctx.db.query(`SELECT batch_id, COUNT(*) AS n FROM receipts WHERE status <> 3 GROUP BY batch_id ORDER BY batch_id`);
        assert.ok(rows.every((r) => r.batch_id !== null), "every receipt is in a batch");
        const batch = rows.find((r) => BigInt(String(r.batch_id)) === idBefore)!;
        assert.equal(Number(batch.n), 4, "the batch holds exactly this run's receipts");
        const record = (await env.chain.publicClient.readContract({ address: env.contracts.settlement, abi: settlementAbi, functionName: "batchOf", args: [GATEWAY_ID, idBefore] })) as { receiptsRoot: Hex };
        const stored = await second.gw.ctx.db.query(`SELECT root FROM batches WHERE id = $1`, [idBefore.toString()]);
        assert.equal(record.receiptsRoot, stored[0]!.root, "the chain holds the batch persisted before the crash");
        const s = (await second.gw.ctx.ledger.reserve(env.customer.account.address.toLowerCase(), 0n), await second.gw.ctx.ledger.state(env.customer.account.address.toLowerCase()))!;
        assert.equal(s.spent, 0n, "nothing left unsettled in the books");
        assert.equal(s.available, await available(env.contracts, env.chain.publicClient, env.customer.account.address));
      } finally {
        await second.gw.close();
      }
    });
  }

  it("turns an entry skipped on-chain into debt that blocks further requests", async () => {
    const { gw, url } = await open({});
    try {
      await worker.serveWith(url);
      await gw.follower.syncOnce();
      await traffic(url, 3);
      // The customer empties the escrow before the batch lands: request, wait out the delay, withdraw.
      const c = env.customer;
      const all = await available(env.contracts, env.chain.publicClient, c.account.address);
      let hash = await c.writeContract({ address: env.contracts.settlement, abi: settlementAbi, functionName: "requestWithdrawal", args: [all], chain: c.chain, account: c.account });
      await env.chain.publicClient.waitForTransactionReceipt({ hash });
      await env.chain.publicClient.request({ method: "evm_increaseTime" as never, params: [25 * 3600] as never });
      await env.chain.publicClient.request({ method: "evm_mine" as never, params: [] as never });
      hash = await c.writeContract({ address: env.contracts.settlement, abi: settlementAbi, functionName: "withdraw", args: [], chain: c.chain, account: c.account });
      await env.chain.publicClient.waitForTransactionReceipt({ hash });
      void testUsdcAbi;
      await gw.poster.tick(true);
      await settledAll(gw);
      const skipped = await gw.ctx.db.query(`SELECT * FROM skipped_entries`);
      assert.equal(skipped.length, 1);
      assert.equal(Number(skipped[0]!.reason), 2, "insufficient balance");
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
      await assert.rejects(client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "more" }], max_tokens: 5 }), (e: unknown) => e instanceof OpenAI.APIError && e.status === 402 && e.code === "outstanding_debt");
    } finally {
      await gw.close();
    }
  });

  it("a customer with debt who tops up is unblocked at once, and the next batch charges the skipped usage", async () => {
    const { gw, url } = await open({});
    try {
      await worker.serveWith(url);
      const c = env.customer.account.address;
      const owed = await gw.ctx.db.query(`SELECT amount, batch_id FROM skipped_entries WHERE reason = 2`);
      const debt = BigInt(String(owed[0]!.amount));
      assert.ok(debt > 0n, "the previous test left a debt");
      await fundCustomer(env.contracts, env.deployer, env.customer, env.chain.publicClient, 5_000_000n);
      await gw.follower.syncOnce();
      const s = await gw.ctx.ledger.snapshot(c.toLowerCase());
      assert.equal(s.debt, 0n, "the debt left the blocking bucket");
      assert.ok(s.spent >= debt, "and waits, as unsettled spend, for the next batch");
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
      await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "paid up" }], max_tokens: 5 });
      const before = await available(env.contracts, env.chain.publicClient, c);
      const id = await nextBatchId();
      await gw.poster.tick(true);
      await settledAll(gw);
      const entries = parseEntries((await gw.ctx.db.query(`SELECT entries FROM batches WHERE id = $1`, [id.toString()]))[0]!.entries);
      const charged = entries.reduce((sum, e) => sum + entryCharge(e), 0n);
      assert.equal(before - (await available(env.contracts, env.chain.publicClient, c)), charged, "the customer paid the batch");
      assert.ok(charged >= debt, "which includes the usage skipped before");
      assert.equal((await gw.ctx.db.query(`SELECT * FROM skipped_entries`)).length, 1, "nothing skipped this time");
      const after = await gw.ctx.ledger.snapshot(c.toLowerCase());
      assert.equal(after.debt, 0n);
      assert.equal(after.spent, 0n, "everything settled");
      // The batch that skipped the entry committed to those receipts: an auditor must still be able
      // to recompute its root from what it publishes, although a later batch charged them.
      const skippedIn = String(owed[0]!.batch_id);
      const signed = (await gw.ctx.db.query(`SELECT root, receipt_count FROM batches WHERE id = $1`, [skippedIn]))[0]!;
      const published = (await (await fetch(`${url}/v1/batches/${skippedIn}/receipts`)).json()) as { receiptsRoot: string; receipts: { id: string }[] };
      assert.equal(published.receipts.length, Number(signed.receipt_count), "the skipping batch still publishes every receipt it committed to");
      assert.equal(published.receiptsRoot, signed.root, "and its root recomputes from them");
      const recollected = await gw.ctx.db.query(`SELECT id FROM receipts WHERE batch_id = $1`, [id.toString()]);
      const shared = published.receipts.find((r) => recollected.some((x) => x.id === r.id));
      assert.ok(shared, "the charging batch holds some of the same receipts");
      const one = (await (await fetch(`${url}/v1/receipts/${shared.id}`)).json()) as { batch: { batchId: string }; batches: { batch: { batchId: string; receiptsRoot: string }; proof: string[] }[] };
      assert.deepEqual(one.batches.map((b) => b.batch.batchId), [skippedIn, id.toString()], "the receipt lists both batches, each with its own proof");
      assert.equal(one.batch.batchId, id.toString(), "and names the one that charged it");
    } finally {
      await gw.close();
    }
  });
});
