/**
 * Money safety: a balance that covers 10 requests' maximum cost, 50 concurrent requests, and the
 * customer is never committed to more than the escrow holds — neither in the gateway's books nor,
 * after the batch settles, on-chain (no entry skipped for lack of balance).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { exactCost, settlementAbi } from "@tollgate/protocol";
import { MODEL, PROMPT_PRICE, COMPLETION_PRICE, loginAndCreateKey, startEnv, startGateway, startRig, stopRig, waitFor, type Env, type WorkerRig } from "./helpers/stack.ts";
import { available, fundCustomer } from "./helpers/chain.ts";
import { countChatPromptTokens as countChatPrompt } from "@tollgate/protocol/tokens";
import { chargeUnits } from "../src/metering/receipts.ts";
import type { Gateway } from "../src/server.ts";

const MAX_TOKENS = 200;
const messages = [{ role: "user" as const, content: "Count slowly to a hundred." }];
// What the gateway reserves for one such request (prompt with margin, max_tokens, highest price).
const RESERVE = chargeUnits(exactCost(BigInt(Math.ceil(countChatPrompt(messages) * 1.05) + 8), BigInt(MAX_TOKENS), PROMPT_PRICE, COMPLETION_PRICE));
const DEPOSIT = RESERVE * 10n;

let env: Env;
let gw: Gateway;
let url: string;
let rigs: WorkerRig[] = [];
let client: OpenAI;

before(async () => {
  env = await startEnv({ providers: 2 });
  await fundCustomer(env.contracts, env.deployer, env.customer, env.chain.publicClient, DEPOSIT);
  ({ gw, url } = await startGateway(env, { tiers: { hobby: { name: "hobby", index: 0, maxPromptTokens: 2_000, maxOutputTokens: 1_000, requestsPerMinute: 10_000, tokensPerMinute: 100_000_000, concurrentRequests: 100 } } }));
  // Slow enough that all 50 requests are in flight together, even when a busy machine spreads their
  // arrival over a second or more (at 500 ms one stream once finished first and its released
  // reservation admitted an 11th); replies long enough to use the budget.
  const sim = { ttftMs: 2_000, tokensPerSecond: 150, minCompletionTokens: 150, maxCompletionTokens: 190 };
  rigs = [await startRig(env, url, 0, 0, sim), await startRig(env, url, 1, 0, sim)];
  await gw.follower.syncOnce();
  ({ key: client } = await loginAndCreateKey(url, env.customer, env.chain.chainId).then(({ key }) => ({ key: new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 }) })));
});

after(async () => {
  for (const r of rigs) await stopRig(r);
  await gw?.close();
  await env?.stop();
});

describe("50 concurrent requests against a balance that covers 10", () => {
  it("admits exactly 10, refuses the rest with 402, and never overspends", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, async (_, i) => {
        const stream = await client.chat.completions.create({ model: MODEL, messages, max_tokens: MAX_TOKENS, stream: true, stream_options: { include_usage: true }, seed: i });
        let completion = 0;
        for await (const chunk of stream) if (chunk.usage) completion = chunk.usage.completion_tokens;
        return completion;
      }),
    );
    const ok = results.filter((r) => r.status === "fulfilled");
    const refused = results.filter((r) => r.status === "rejected");
    assert.equal(ok.length, 10, "exactly the number of requests the balance covers at maximum cost");
    for (const r of refused) {
      const e = (r as PromiseRejectedResult).reason;
      assert.ok(e instanceof OpenAI.APIError && e.status === 402, `refused with 402, got ${e}`);
    }
    const state = (await gw.ctx.ledger.state(env.customer.account.address.toLowerCase()))!;
    assert.equal(state.reserved, 0n, "every reservation was closed");
    assert.ok(state.spent > 0n && state.spent <= DEPOSIT, `committed ${state.spent} within the deposit ${DEPOSIT}`);

    // Settle on-chain: every entry is paid in full, nothing is skipped, the escrow never goes short.
    await gw.poster.tick(true);
    await waitFor(async () => {
      await gw.follower.syncOnce();
      const rows = await gw.ctx.db.query(`SELECT state FROM batches`);
      return rows.length > 0 && rows.every((r) => r.state === "settled");
    }, 20_000, "batch settled");
    const skipped = await env.chain.publicClient.getContractEvents({ address: env.contracts.settlement, abi: settlementAbi, eventName: "EntrySkipped", fromBlock: 0n });
    assert.equal(skipped.length, 0, "no entry skipped for lack of balance");
    const left = await available(env.contracts, env.chain.publicClient, env.customer.account.address);
    assert.ok(left >= 0n && left < DEPOSIT, "charged, and not beyond the deposit");
    const after = (await gw.ctx.ledger.state(env.customer.account.address.toLowerCase()))!;
    assert.equal(after.spent, 0n, "settled spend left the unsettled books");
    assert.equal(after.available, left, "the gateway follows the chain's balance");
  });

  it("admits again what the released part of the reservations pays for", async () => {
    const s = (await gw.ctx.ledger.state(env.customer.account.address.toLowerCase()))!;
    const spendable = s.available - s.debt - s.spent - s.reserved;
    if (spendable >= RESERVE) {
      const r = await client.chat.completions.create({ model: MODEL, messages, max_tokens: MAX_TOKENS });
      assert.ok(r.usage!.completion_tokens > 0);
    } else {
      await assert.rejects(client.chat.completions.create({ model: MODEL, messages, max_tokens: MAX_TOKENS }), (e: unknown) => e instanceof OpenAI.APIError && e.status === 402);
    }
  });
});
