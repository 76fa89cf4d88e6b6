/**
 * End to end on the scale path (issue #7, test 4): the machine's PostgreSQL and Redis, two gateway
 * replicas. A key created at one replica works at the other; requests through both land in batches
 * posted once; the escrow moves by exactly the receipts' worth; proofs verify on-chain.
 * Skips, saying why, where PostgreSQL or Redis is not reachable.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import pg from "pg";
import { Redis } from "ioredis";
import type { Abi, Address, Hex } from "viem";
import { aggregateEntries, entriesHash, entryCharge, receiptFromJson, receiptLeafHash, settlementAbi, verifyReceiptProof, type Receipt, type ReceiptJson } from "@tollgate/protocol";
import { MAIN_MODEL, send, wipeExternalStorage } from "@tollgate/devnet";
import { HAS_INDEXER, NO_INDEXER_REASON, advanceTime, batchEntriesFromTx, earningsOf, escrowAvailable, newCustomer, onceFunded, readSettlement, settledReceipt, startTestNet, type TestNet } from "./helpers.ts";

const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

async function reachable(): Promise<string | false> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
  } catch (err) {
    return `PostgreSQL at ${DATABASE_URL} not reachable (${(err as Error).message}); set DATABASE_URL`;
  } finally {
    await client.end().catch(() => {});
  }
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2_000, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    return `Redis at ${REDIS_URL} not reachable (${(err as Error).message}); set REDIS_URL`;
  } finally {
    redis.disconnect();
  }
  return false;
}

const skip = await reachable();
const suffix = randomBytes(4).toString("hex");
const storage = { databaseUrl: DATABASE_URL, dbSchema: `e2e_devnet_${suffix}`, redisUrl: REDIS_URL, redisPrefix: `e2e-devnet-${suffix}` };
let net: TestNet;
let customerAddress: Address;
const ids: Hex[] = [];
let claimedBy: Address = "0x0000000000000000000000000000000000000000";
let claimed = 0n;

describe("the scale path: PostgreSQL, Redis, two gateway replicas", { skip }, () => {
  before(async () => {
    net = await startTestNet({ ...storage, replicas: 2, slaWindowSec: 0 });
  });
  after(async () => {
    await net?.close();
    await wipeExternalStorage(storage);
  });

  it("serves one customer through both replicas and settles exactly what the receipts say", async () => {
    const m = net.manifest;
    assert.equal(m.gatewayUrls.length, 2);
    const deposit = 10_000_000n;
    const customer = await newCustomer(net, 8, deposit); // key created at replica 1
    customerAddress = customer.wallet.account.address;
    for (const [i, url] of m.gatewayUrls.entries()) {
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: customer.apiKey, maxRetries: 0 });
      for (let j = 0; j < 2; j++) {
        const { data, response } = await onceFunded(() =>
          client.chat.completions.create({ model: MAIN_MODEL, messages: [{ role: "user", content: `replica ${i}, request ${j}` }], max_tokens: 30 }).withResponse(),
        );
        assert.ok(data.choices[0]!.message.content!.length > 0);
        ids.push(response.headers.get("x-tollgate-receipt-id") as Hex);
      }
      const { data: stream, response } = await client.chat.completions
        .create({ model: MAIN_MODEL, stream: true, messages: [{ role: "user", content: `replica ${i}, streamed` }], max_tokens: 30 })
        .withResponse();
      let text = "";
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
      assert.ok(text.length > 0);
      ids.push(response.headers.get("x-tollgate-receipt-id") as Hex);
    }

    // Either replica publishes every receipt: they share the database.
    const published = await Promise.all(ids.map((id, k) => settledReceipt(m.gatewayUrls[k % 2]!, id)));
    const pc = net.clients.publicClient;
    let charged = 0n;
    const seen = new Set<string>();
    for (const batchId of new Set(published.map((p) => p.batchId))) {
      const body = (await (await fetch(`${m.gatewayUrls[1]}/v1/batches/${batchId}/receipts`)).json()) as { txHash: Hex; receipts: ReceiptJson[] };
      const receipts: Receipt[] = body.receipts.map(receiptFromJson);
      for (const r of receipts) seen.add(r.id.toLowerCase());
      const entries = await batchEntriesFromTx(pc, body.txHash);
      assert.equal(entriesHash(aggregateEntries(receipts)), entriesHash(entries));
      charged += entries.reduce((a, e) => a + entryCharge(e), 0n);
    }
    assert.deepEqual(seen, new Set(ids.map((x) => x.toLowerCase())), "each request settled once, none missing, none extra");
    assert.equal(deposit - (await escrowAvailable(net, customer.wallet.account.address)), charged);

    for (const p of published) {
      assert.ok(verifyReceiptProof(p.root, p.receipt, p.proof));
      assert.equal(await readSettlement<boolean>(net, "verifyReceipt", [m.gatewayId, p.batchId, receiptLeafHash(p.receipt), p.proof]), true);
    }
    const next = await readSettlement<bigint>(net, "nextBatchId", [m.gatewayId]);
    assert.equal(next - 1n, BigInt(Math.max(...published.map((p) => Number(p.batchId)))), "batch ids without gaps: one poster (the leader)");
  });

  it("after the dispute window a provider claims what vested", async () => {
    const m = net.manifest;
    const pc = net.clients.publicClient;
    await advanceTime(pc, 2 * m.timings.disputeWindowSec + 1);
    for (const [i, p] of m.providers.entries()) {
      const { claimable, vesting } = await earningsOf(net, p.address);
      assert.equal(vesting, 0n);
      if (claimable === 0n) continue;
      await send(pc, net.clients.wallet(m.accounts.providers[i]!.privateKey), m.deployment.contracts.settlement, settlementAbi as Abi, "claim", []);
      assert.deepEqual(await earningsOf(net, p.address), { claimable: 0n, vesting: 0n });
      claimedBy = p.address;
      claimed = claimable;
      break;
    }
    assert.ok(claimed > 0n, "some provider earned and claimed");
  });

  it("the indexer (on PostgreSQL too) agrees with the chain", { skip: HAS_INDEXER ? false : NO_INDEXER_REASON }, async () => {
    const { assertIndexerMatchesChain } = await import("./indexer-checks.ts");
    await assertIndexerMatchesChain(net, { customer: customerAddress, receiptIds: ids, claimedBy, claimed });
  });
});
