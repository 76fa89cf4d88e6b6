/**
 * A story that makes the contracts emit every event type they define (except AuthorityUpdated and
 * EIP712DomainChanged, which no protocol flow emits): governance settings, two providers, two
 * customers, batches with settled and skipped entries, withdrawals, disputes upheld and rejected,
 * an SLA report that slashes and jails, unjail, claims, stake withdrawal, pauses and freezes.
 */
import { bytesToHex, keccak256, toHex, type Address, type Hex } from "viem";
import { modelId, slaCreditsAbi, type BatchEntry, type Receipt } from "@tollgate/protocol";
import { MODEL_A, MODEL_B, modelInfo, receiptsFor, settle, signSla, type Devnet, type Wallet } from "./devnet.ts";
import type { GatewayStub } from "./gateway-stub.ts";

export const USDC = 1_000_000n;
export const GATEWAY_ID = 1;

export type ScenarioResult = {
  providers: Address[];
  customers: Address[];
  batches: { batchId: bigint; root: Hex; receipts: Receipt[]; entries: BatchEntry[] }[];
};

export async function runScenario(dn: Devnet, gw: GatewayStub | null): Promise<ScenarioResult> {
  const gov = dn.wallet(0);
  const provA = dn.wallet(1), provB = dn.wallet(2), cust1 = dn.wallet(3), cust2 = dn.wallet(4), signer = dn.wallet(5), worker = dn.wallet(6), worker2 = dn.wallet(7);
  const A = provA.account.address, B = provB.account.address, C1 = cust1.account.address, C2 = cust2.account.address;

  // Governance (GOVERNOR / GUARDIAN, no delay on local chains).
  await dn.send(gov, "providerRegistry", "setPriceNotice", [3600]);
  await dn.send(gov, "providerRegistry", "setPriceGrace", [3600]);
  await dn.send(gov, "providerStaking", "setMinStake", [100n * USDC]);
  await dn.send(gov, "providerStaking", "setUnbondingDelay", [86_400]);
  await dn.send(gov, "settlement", "setWithdrawalDelay", [3600]);
  await dn.send(gov, "settlement", "setFeeBps", [300]);
  await dn.send(gov, "settlement", "setCaps", [50_000n * USDC, 250_000n * USDC, 3600]);
  await dn.send(gov, "settlement", "setDisputeResolutionPeriod", [86_400]);
  await dn.send(gov, "settlement", "setGatewaySigner", [GATEWAY_ID, signer.account.address]);
  await dn.send(gov, "slaCredits", "setPolicy", [0, { availabilityTargetPpm: 999_000, stepPpm: 1_000, ttftTargetMs: 1_500, minRequests: 1_000, creditPerStepBps: 500, ttftCreditBps: 500, capBps: 2_500 }]);
  await dn.send(gov, "slaCredits", "setMaxCreditPerReport", [10_000n * USDC]);
  await dn.send(gov, "slaCredits", "setPeriodCap", [25_000n * USDC, 86_400]);

  // Providers.
  const profile = { gpuModel: "H100", gpuCount: 8, vramGb: 80, region: "eu-west", metadataURI: "ipfs://a" };
  await dn.send(provA, "providerRegistry", "register", [profile]);
  await dn.send(provA, "providerRegistry", "updateProfile", [{ ...profile, gpuCount: 4, metadataURI: "ipfs://a2" }]);
  await dn.send(provA, "providerRegistry", "listModel", [MODEL_A, modelInfo("llama-3.1-8b-instruct"), 100_000, 200_000]);
  await dn.send(provA, "providerRegistry", "listModel", [MODEL_B, modelInfo("qwen-2.5-7b"), 50_000, 50_000]);
  await dn.send(provA, "providerRegistry", "authorizeWorker", [worker.account.address]);
  await dn.send(provA, "providerRegistry", "authorizeWorker", [worker2.account.address]);
  await dn.send(provA, "providerRegistry", "revokeWorker", [worker2.account.address]);
  await dn.send(provB, "providerRegistry", "register", [{ ...profile, region: "us-east", metadataURI: "ipfs://b" }]);
  await dn.send(provB, "providerRegistry", "listModel", [MODEL_A, modelInfo("llama-3.1-8b-instruct"), 80_000, 160_000]);
  for (const [w, amount] of [[provA, 1_000n * USDC], [provB, 100n * USDC]] as const) {
    await dn.send(gov, "usdc", "mint", [w.account.address, amount * 3n]);
    await dn.send(w, "usdc", "approve", [dn.deployment.contracts.providerStaking, amount * 3n]);
    await dn.send(w, "providerStaking", "stake", [amount]);
  }

  // Customers: one deposits itself, the other is funded by someone else (depositFor).
  await dn.send(gov, "usdc", "mint", [C1, 500n * USDC]);
  await dn.send(cust1, "usdc", "approve", [dn.deployment.contracts.settlement, 500n * USDC]);
  await dn.send(cust1, "settlement", "deposit", [300n * USDC]);
  await dn.send(gov, "usdc", "mint", [gov.account.address, 1_000n * USDC]);
  await dn.send(gov, "usdc", "approve", [dn.deployment.contracts.settlement, 1_000n * USDC]);
  await dn.send(gov, "settlement", "depositFor", [C2, 50n * USDC]);

  // Batch 0: two settled entries, one above the published price (skip 1), one the customer cannot pay (skip 2).
  const batches: ScenarioResult["batches"] = [];
  const entries0: BatchEntry[] = [
    { customer: C1, provider: A, model: MODEL_A, requests: 3, promptTokens: 300_000_000n, completionTokens: 150_000_000n, promptPrice: 100_000n, completionPrice: 200_000n },
    { customer: C2, provider: A, model: MODEL_B, requests: 2, promptTokens: 100_000_000n, completionTokens: 100_000_000n, promptPrice: 50_000n, completionPrice: 50_000n },
    { customer: C1, provider: B, model: MODEL_A, requests: 1, promptTokens: 1_000_000n, completionTokens: 1_000_000n, promptPrice: 90_000n, completionPrice: 160_000n },
    { customer: C2, provider: B, model: MODEL_A, requests: 1, promptTokens: 900_000_000n, completionTokens: 0n, promptPrice: 80_000n, completionPrice: 160_000n },
  ];
  const r0 = receiptsFor(entries0, worker.account.address, await dn.now(), "b0");
  const s0 = await settle(dn, signer, gov, GATEWAY_ID, entries0, r0);
  batches.push({ ...s0, receipts: r0, entries: entries0 });
  gw?.publish(s0.batchId, r0);

  // Batch 1: B serves C1 (this one stays honest too).
  const entries1: BatchEntry[] = [
    { customer: C1, provider: B, model: MODEL_A, requests: 2, promptTokens: 50_000_000n, completionTokens: 20_000_000n, promptPrice: 80_000n, completionPrice: 160_000n },
    { customer: C2, provider: A, model: MODEL_A, requests: 1, promptTokens: 10_000_000n, completionTokens: 10_000_000n, promptPrice: 100_000n, completionPrice: 200_000n },
  ];
  const r1 = receiptsFor(entries1, worker.account.address, await dn.now(), "b1");
  const s1 = await settle(dn, signer, gov, GATEWAY_ID, entries1, r1);
  batches.push({ ...s1, receipts: r1, entries: entries1 });
  gw?.publish(s1.batchId, r1);

  // Withdrawals: request, cancel, request again (completed later).
  await dn.send(cust1, "settlement", "requestWithdrawal", [20n * USDC]);
  await dn.send(cust1, "settlement", "cancelWithdrawal");
  await dn.send(cust1, "settlement", "requestWithdrawal", [30n * USDC]);

  // Disputes on batch 0: C1's entry 0 (upheld), C2's entry 1 (rejected).
  const { entryHashes } = await import("@tollgate/protocol");
  const hashes0 = entryHashes(entries0);
  const typed = (e: BatchEntry) => ({ ...e, promptPrice: Number(e.promptPrice), completionPrice: Number(e.completionPrice) });
  await dn.send(cust1, "settlement", "openDispute", [{ gatewayId: GATEWAY_ID, batchId: s0.batchId, index: 0 }, typed(entries0[0]!), hashes0, 10n * USDC, keccak256(toHex("wrong tokens"))]);
  await dn.send(cust2, "settlement", "openDispute", [{ gatewayId: GATEWAY_ID, batchId: s0.batchId, index: 1 }, typed(entries0[1]!), hashes0, 1n * USDC, keccak256(toHex("slow"))]);
  await dn.send(gov, "settlement", "resolveDispute", [2n, false, 0n]);
  await dn.send(gov, "settlement", "resolveDispute", [1n, true, 8n * USDC]);

  // Stake: unbond, rebond part.
  await dn.send(provA, "providerStaking", "unbond", [200n * USDC]);
  await dn.send(provA, "providerStaking", "rebond", [50n * USDC]);

  // SLA: a bad window for B; the credit (25% of 1,000 USDC) exceeds B's 100 USDC stake: slashed and jailed,
  // and the unpaid 150 USDC stays locked as the report's arrears (docs/audit.md A-01).
  const now = await dn.now();
  const report = {
    gatewayId: GATEWAY_ID, provider: B, tier: 0, windowStart: now - 3600n, windowEnd: now - 60n, requests: 5_000, availabilityPpm: 990_000,
    p95TtftMs: 2_000, deadline: now + 3600n, spends: [{ customer: C1, spend: 600n * USDC }, { customer: C2, spend: 400n * USDC }],
  };
  await dn.send(gov, "slaCredits", "submitReport", [report, await signSla(dn, signer, report)]);
  // Leaving jail takes the minimum stake beyond the locked arrears: 150 + 100.
  await dn.send(gov, "usdc", "mint", [B, 50n * USDC]);
  await dn.send(provB, "usdc", "approve", [dn.deployment.contracts.providerStaking, 250n * USDC]);
  await dn.send(provB, "providerStaking", "stake", [250n * USDC]);
  await dn.send(provB, "providerStaking", "unjail");

  // Guardian: freeze / unfreeze, pause / unpause everything pausable.
  await dn.send(gov, "settlement", "freeze", [C2]);
  await dn.send(gov, "settlement", "unfreeze", [C2]);
  for (const c of ["settlement", "providerStaking", "slaCredits"] as const) {
    await dn.send(gov, c, "pause");
    await dn.send(gov, c, "unpause");
  }

  // Prices: a scheduled change and a delisting.
  await dn.send(provA, "providerRegistry", "schedulePriceChange", [MODEL_A, 90_000, 180_000]);
  await dn.send(provA, "providerRegistry", "delistModel", [MODEL_B]);

  // Time passes: earnings vest, the withdrawal and the unbonding unlock.
  await dn.warp(2 * 86_400);
  await dn.send(provA, "settlement", "claim");
  await dn.send(cust1, "settlement", "withdraw");
  await dn.send(provA, "providerStaking", "withdraw");
  await dn.send(gov, "settlement", "withdrawFees", [gov.account.address, 1n * USDC]);

  // One more batch after the price change is in force.
  const entries2: BatchEntry[] = [
    { customer: C1, provider: A, model: MODEL_A, requests: 4, promptTokens: 40_000_000n, completionTokens: 40_000_000n, promptPrice: 90_000n, completionPrice: 180_000n },
  ];
  const r2 = receiptsFor(entries2, worker.account.address, await dn.now(), "b2");
  const s2 = await settle(dn, signer, gov, GATEWAY_ID, entries2, r2);
  batches.push({ ...s2, receipts: r2, entries: entries2 });
  gw?.publish(s2.batchId, r2);

  // A dispute the arbiter never resolves: after the resolution period anyone (here B) expires it.
  await dn.send(cust1, "settlement", "openDispute", [{ gatewayId: GATEWAY_ID, batchId: s2.batchId, index: 0 }, typed(entries2[0]!), entryHashes(entries2), 1n * USDC, keccak256(toHex("no answer"))]);
  await dn.warp(86_400);
  await dn.send(provB, "settlement", "expireDispute", [3n]);
  void bytesToHex;
  void modelId;
  return { providers: [A, B].map((a) => a.toLowerCase() as Address), customers: [C1, C2].map((a) => a.toLowerCase() as Address), batches };
}

/** Every event name the four contracts declare, minus the two no flow emits. */
export const NOT_EMITTED = new Set(["AuthorityUpdated", "EIP712DomainChanged"]);

/** One provider (A, wallet 1) listing MODEL_A, one funded customer (C, wallet 3), gateway 1's signer (wallet 5). */
export async function setupBasic(dn: Devnet) {
  const gov = dn.wallet(0), prov = dn.wallet(1), cust = dn.wallet(3), signer = dn.wallet(5);
  await dn.send(gov, "settlement", "setGatewaySigner", [GATEWAY_ID, signer.account.address]);
  await dn.send(prov, "providerRegistry", "register", [{ gpuModel: "H100", gpuCount: 1, vramGb: 80, region: "eu", metadataURI: "ipfs://p" }]);
  await dn.send(prov, "providerRegistry", "listModel", [MODEL_A, modelInfo("llama-3.1-8b-instruct"), 100_000, 200_000]);
  await dn.send(gov, "usdc", "mint", [prov.account.address, 1_000n * USDC]);
  await dn.send(prov, "usdc", "approve", [dn.deployment.contracts.providerStaking, 1_000n * USDC]);
  await dn.send(prov, "providerStaking", "stake", [500n * USDC]);
  await dn.send(gov, "usdc", "mint", [cust.account.address, 10_000n * USDC]);
  await dn.send(cust, "usdc", "approve", [dn.deployment.contracts.settlement, 10_000n * USDC]);
  await dn.send(cust, "settlement", "deposit", [1_000n * USDC]);
  return { gov, prov, cust, signer, A: prov.account.address, C: cust.account.address };
}

export function entry(customer: Address, provider: Address, requests: number, promptTokens: bigint, completionTokens: bigint): BatchEntry {
  return { customer, provider, model: MODEL_A, requests, promptTokens, completionTokens, promptPrice: 100_000n, completionPrice: 200_000n };
}

/**
 * Gateway 1's report of `provider`'s window [now - startAgo, now - endAgo) at 99% availability, so
 * the tier's 25% cap sets each customer's credit (a quarter of its spend); returns the report key.
 */
export async function submitSlaReport(dn: Devnet, signer: Wallet, submitter: Wallet, provider: Address, spends: [Address, bigint][], startAgo: number, endAgo: number): Promise<Hex> {
  const now = await dn.now();
  const report = {
    gatewayId: GATEWAY_ID, provider, tier: 0, windowStart: now - BigInt(startAgo), windowEnd: now - BigInt(endAgo), requests: 5_000, availabilityPpm: 990_000,
    p95TtftMs: 200, deadline: now + 3600n, spends: spends.map(([customer, spend]) => ({ customer, spend })),
  };
  await dn.send(submitter, "slaCredits", "submitReport", [report, await signSla(dn, signer, report)]);
  return dn.pc.readContract({ address: dn.deployment.contracts.slaCredits, abi: slaCreditsAbi, functionName: "reportKey", args: [GATEWAY_ID, provider, 0, report.windowStart] });
}
