/**
 * End to end (issue #7, test 2): the slow demo provider breaches the p95 time-to-first-token target.
 * At the end of the SLA window the gateway posts its report; the credit the on-chain policy implies
 * is paid from the provider's stake into the customer's escrow, to the unit; GraphQL shows it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { decodeFunctionData, type Abi, type Address, type Hex } from "viem";
import { creditBps, creditFor, providerStakingAbi, settlementAbi, slaCreditsAbi, type SlaPolicy } from "@tollgate/protocol";
import { SLOW_MODEL } from "@tollgate/devnet";
import { HAS_INDEXER, NO_INDEXER_REASON, newCustomer, onceFunded, startTestNet, waitFor, type Customer, type TestNet } from "./helpers.ts";

const SLA_WINDOW_SEC = 15;
let net: TestNet;
let customer: Customer;
let slow: Address;
type Outcome = { creditBps: bigint; totalSpend: bigint; creditOwed: bigint; creditPaid: bigint };
type Reported = { tier: number; requests: number; availabilityPpm: number; p95TtftMs: number; outcome: Outcome };
let report: { args: Reported; txHash: Hex; block: bigint };
let creditToCustomer = 0n;

before(async () => {
  net = await startTestNet({ slaWindowSec: SLA_WINDOW_SEC, probeIntervalMs: 1_000 });
  slow = net.manifest.providers.find((p) => p.models.includes(SLOW_MODEL))!.address;
});
after(async () => {
  await net?.close();
});

describe("an SLA breach on the devnet", () => {
  it("the slow provider answers, but late", async () => {
    customer = await newCustomer(net, 7, 10_000_000n);
    const client = new OpenAI({ baseURL: `${net.manifest.gatewayUrl}/v1`, apiKey: customer.apiKey, maxRetries: 0 });
    const started = Date.now();
    const answers = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        onceFunded(() => client.chat.completions.create({ model: SLOW_MODEL, messages: [{ role: "user", content: `slow question ${i}` }], max_tokens: 60 })),
      ),
    );
    for (const a of answers) assert.ok(a.usage!.completion_tokens > 0);
    assert.ok(Date.now() - started > 1_500, "the slow provider takes more than the 1.5 s TTFT target");
  });

  it("its SLA report is posted at the end of the window with a p95 TTFT above the target", async () => {
    const pc = net.clients.publicClient;
    const slaCredits = net.manifest.deployment.contracts.slaCredits;
    report = await waitFor(
      async () => {
        const logs = await pc.getContractEvents({ address: slaCredits, abi: slaCreditsAbi, eventName: "SlaReported", args: { provider: slow }, fromBlock: BigInt(net.manifest.deployment.deployBlock) });
        // The report of the window with this customer's traffic is the one that carries spend.
        const hit = logs.map((l) => ({ args: (l as unknown as { args: Reported }).args, txHash: l.transactionHash!, block: l.blockNumber! })).find((l) => l.args.outcome.totalSpend > 0n);
        return hit ?? null;
      },
      4 * SLA_WINDOW_SEC * 1000,
      "the slow provider's SLA report with customer spend",
    );
    assert.ok(report.args.p95TtftMs > 1_500, `p95 TTFT ${report.args.p95TtftMs} ms`);
    assert.ok(report.args.outcome.creditOwed > 0n);
  });

  it("the credit is the on-chain policy's formula, paid from the provider's stake into the customer's escrow", async () => {
    const pc = net.clients.publicClient;
    const c = net.manifest.deployment.contracts;
    const { args, txHash, block } = report;
    const policy = (await pc.readContract({ address: c.slaCredits, abi: slaCreditsAbi, functionName: "policyOf", args: [args.tier] })) as unknown as SlaPolicy;
    const bps = creditBps(
      Object.fromEntries(Object.entries(policy).map(([k, v]) => [k, Number(v)])) as SlaPolicy,
      Number(args.requests),
      Number(args.availabilityPpm),
      Number(args.p95TtftMs),
    );
    assert.ok(bps > 0);
    assert.equal(args.outcome.creditBps, BigInt(bps));

    // The customer's spend as the gateway signed it, from the report's calldata.
    const tx = await pc.getTransaction({ hash: txHash });
    const { args: callArgs } = decodeFunctionData({ abi: slaCreditsAbi as Abi, data: tx.input });
    const spends = (callArgs![0] as { spends: { customer: Address; spend: bigint }[] }).spends;
    const mine = spends.find((s) => s.customer.toLowerCase() === customer.wallet.account.address.toLowerCase());
    assert.ok(mine, "the customer's spend is in the report");
    const expected = creditFor(BigInt(mine.spend), bps);
    assert.ok(expected > 0n);

    const paid = await pc.getContractEvents({ address: c.settlement, abi: settlementAbi, eventName: "SlaCreditPaid", args: { customer: customer.wallet.account.address }, blockHash: (await pc.getTransactionReceipt({ hash: txHash })).blockHash });
    assert.equal((paid[0] as unknown as { args: { amount: bigint } }).args.amount, expected);
    creditToCustomer = expected;

    const escrowAt = async (b: bigint) => (await pc.readContract({ address: c.settlement, abi: settlementAbi, functionName: "accountOf", args: [customer.wallet.account.address], blockNumber: b }))[0];
    const stakeAt = async (b: bigint) => (await pc.readContract({ address: c.providerStaking, abi: providerStakingAbi, functionName: "stakeOf", args: [slow], blockNumber: b }))[0];
    assert.equal((await escrowAt(block)) - (await escrowAt(block - 1n)), expected, "escrow credited by exactly the formula's credit");
    assert.equal((await stakeAt(block - 1n)) - (await stakeAt(block)), args.outcome.creditPaid, "stake slashed by exactly what was paid");
    assert.equal(args.outcome.creditPaid, args.outcome.creditOwed, "stake covered the whole credit");
  });

  it("GraphQL shows the SLA credit", { skip: HAS_INDEXER ? false : NO_INDEXER_REASON }, async () => {
    const { assertIndexerShowsSlaCredit } = await import("./indexer-checks.ts");
    await assertIndexerShowsSlaCredit(net, { provider: slow, customer: customer.wallet.account.address, txHash: report.txHash, creditPaid: report.args.outcome.creditPaid, creditToCustomer });
  });
});
