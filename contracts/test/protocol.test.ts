/**
 * The TypeScript face of the protocol against the real contracts on an in-process chain, deployed
 * by the same Ignition module as a real network: what TS signs is accepted, what TS proves verifies,
 * and every forgery a stolen or sloppy signer could try is refused.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { network } from "hardhat";
import { getAddress, hexToSignature, parseSignature, serializeSignature, keccak256, toHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import Tollgate from "../ignition/modules/Tollgate.ts";
import TollgateLocal from "../ignition/modules/TollgateLocal.ts";
import {
  aggregateEntries,
  creditBps,
  creditFor,
  DEFAULT_SLA_POLICY,
  domainOf,
  entryCharge,
  entryHash,
  entryHashes,
  fee,
  modelId,
  permitTypes,
  RECEIPT_STATUS,
  receiptCost,
  receiptId,
  receiptLeafHash,
  receiptProof,
  receiptTree,
  signBatch,
  slaReportTypes,
  usdcDomain,
  verifyReceiptProof,
  type Batch,
  type Receipt,
  type SlaReport,
} from "../ts/index.ts";

const { viem, ignition, networkHelpers } = await network.create();
const publicClient = await viem.getPublicClient();
const [deployer, provider, customer, worker, outsider] = await viem.getWalletClients();
const chainId = await publicClient.getChainId();
const gateway = privateKeyToAccount(generatePrivateKey());
const MODEL = modelId("llama-3.1-8b-instruct");
const PROMPT_PRICE = 200_000n; // $0.20 per million prompt tokens
const COMPLETION_PRICE = 600_000n; // $0.60 per million completion tokens
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

const d = await ignition.deploy(TollgateLocal, { parameters: { TollgateLocal: { disputeWindowSeconds: 3600 } } });
const { usdc, settlement, providerRegistry: registry, providerStaking: staking, slaCredits } = d;

function receipt(i: number, promptTokens: number, completionTokens: number): Receipt {
  const r = {
    id: receiptId(`req-${i}`),
    customer: customer.account.address,
    provider: provider.account.address,
    worker: worker.account.address,
    model: MODEL,
    promptTokens,
    cachedTokens: 0,
    completionTokens,
    reasoningTokens: 0,
    promptPrice: PROMPT_PRICE,
    completionPrice: COMPLETION_PRICE,
    cost: 0n,
    ttftMs: 120,
    durationMs: 900,
    status: RECEIPT_STATUS.ok,
    servedAt: 1_800_000_000n + BigInt(i),
  };
  return { ...r, cost: receiptCost(r) };
}

async function nextBatch(receipts: Receipt[], overrides: Partial<Batch> = {}): Promise<Batch> {
  const tree = receiptTree(receipts);
  return {
    gatewayId: 1,
    batchId: await settlement.read.nextBatchId([1]),
    receiptsRoot: tree.root as Hex,
    receiptCount: receipts.length,
    deadline: BigInt(await networkHelpers.time.latest()) + 3600n,
    entries: aggregateEntries(receipts),
    ...overrides,
  };
}

async function available(who: Address): Promise<bigint> {
  const [avail] = await settlement.read.accountOf([who]);
  return avail;
}

before(async () => {
  await settlement.write.setGatewaySigner([1, gateway.address]);
  const asProvider = { account: provider.account };
  await registry.write.register(
    [{ gpuModel: "H100-80GB", gpuCount: 8, vramGb: 640, region: "eu-west", metadataURI: "ipfs://p" }],
    asProvider,
  );
  await registry.write.listModel(
    [MODEL, { name: "llama-3.1-8b-instruct", quantization: "fp16", modelHash: keccak256(toHex("w")), contextLength: 131072 }, Number(PROMPT_PRICE), Number(COMPLETION_PRICE)],
    asProvider,
  );
  await usdc.write.mint([provider.account.address, 1_000_000_000n]);
  await usdc.write.approve([staking.address, 1_000_000_000n], asProvider);
  await staking.write.stake([1_000_000_000n], asProvider);
  await usdc.write.mint([customer.account.address, 100_000_000n]);
});

describe("deposit with a permit signed in TypeScript", () => {
  it("credits the customer in one transaction", async () => {
    const amount = 100_000_000n;
    const deadline = BigInt(await networkHelpers.time.latest()) + 600n;
    const nonce = await usdc.read.nonces([customer.account.address]);
    const signature = await customer.signTypedData({
      domain: usdcDomain(chainId, usdc.address),
      types: permitTypes,
      primaryType: "Permit",
      message: { owner: customer.account.address, spender: settlement.address, value: amount, nonce, deadline },
    });
    const { v, r, s } = parseSignature(signature);
    await settlement.write.depositWithPermit([customer.account.address, amount, deadline, Number(v), r, s], {
      account: customer.account,
    });
    assert.equal(await available(customer.account.address), amount);
  });
});

describe("a batch signed in TypeScript", () => {
  const receipts = [receipt(1, 1200, 300), receipt(2, 800, 2000), receipt(3, 50_000, 4000)];
  let batch: Batch;

  it("is accepted and moves exactly the sum of the receipts at the published prices", async () => {
    batch = await nextBatch(receipts);
    const before = await available(customer.account.address);
    const exact = receipts.reduce((sum, r) => sum + r.cost, 0n);
    const expected = exact / 1_000_000n;
    assert.equal(entryCharge(batch.entries[0]!), expected);
    const signature = await signBatch(gateway, batch, chainId, settlement.address);
    await viem.assertions.emit(settlement.write.settleBatch([batch, signature]), settlement, "BatchSettled");
    assert.equal(before - (await available(customer.account.address)), expected);
    const [, vesting] = await settlement.read.earningsOf([provider.account.address]);
    assert.equal(vesting, expected - fee(expected, 250n));
    assert.equal(await settlement.read.protocolFees(), fee(expected, 250n));
  });

  it("records the entry hashes TypeScript computes", async () => {
    assert.equal(await settlement.read.hashEntry([batch.entries[0]!]), entryHash(batch.entries[0]!));
    const record = await settlement.read.batchOf([1, batch.batchId]);
    assert.equal(record.receiptsRoot, batch.receiptsRoot);
  });

  it("proves every receipt against the on-chain root, in TS and on-chain", async () => {
    const tree = receiptTree(receipts);
    for (const r of receipts) {
      const proof = receiptProof(tree, r);
      assert.ok(verifyReceiptProof(batch.receiptsRoot, r, proof));
      assert.equal(await settlement.read.verifyReceipt([1, batch.batchId, receiptLeafHash(r), proof]), true);
    }
    const forged = { ...receipts[0]!, completionTokens: receipts[0]!.completionTokens - 1 };
    const proof = receiptProof(tree, receipts[0]!);
    assert.equal(verifyReceiptProof(batch.receiptsRoot, forged, proof), false);
    assert.equal(await settlement.read.verifyReceipt([1, batch.batchId, receiptLeafHash(forged), proof]), false);
  });

  it("cannot be replayed", async () => {
    const signature = await signBatch(gateway, batch, chainId, settlement.address);
    await viem.assertions.revertWithCustomError(settlement.write.settleBatch([batch, signature]), settlement, "BatchOutOfOrder");
  });
});

describe("forged or out-of-bounds batches are refused", () => {
  it("signed for another chain id", async () => {
    const batch = await nextBatch([receipt(10, 100, 100)]);
    const signature = await gateway.signTypedData({
      domain: domainOf("settlement", chainId + 1, settlement.address),
      types: (await import("../ts/eip712.ts")).batchTypes,
      primaryType: "Batch",
      message: batch,
    });
    await viem.assertions.revertWithCustomError(settlement.write.settleBatch([batch, signature]), settlement, "InvalidSignature");
  });

  it("signed for another contract", async () => {
    const batch = await nextBatch([receipt(11, 100, 100)]);
    const signature = await signBatch(gateway, batch, chainId, staking.address);
    await viem.assertions.revertWithCustomError(settlement.write.settleBatch([batch, signature]), settlement, "InvalidSignature");
  });

  it("with a malleated signature (s -> n - s)", async () => {
    const batch = await nextBatch([receipt(12, 100, 100)]);
    const good = hexToSignature(await signBatch(gateway, batch, chainId, settlement.address));
    const highS = toHex(SECP256K1_N - BigInt(good.s), { size: 32 });
    const malleated = serializeSignature({ r: good.r, s: highS, yParity: good.yParity === 0 ? 1 : 0 });
    await viem.assertions.revertWithCustomError(settlement.write.settleBatch([batch, malleated]), settlement, "InvalidSignature");
  });

  it("signed by someone other than the gateway signer", async () => {
    const batch = await nextBatch([receipt(13, 100, 100)]);
    const signature = await signBatch(privateKeyToAccount(generatePrivateKey()), batch, chainId, settlement.address);
    await viem.assertions.revertWithCustomError(settlement.write.settleBatch([batch, signature]), settlement, "InvalidSignature");
  });

  it("over the per-batch cap", async () => {
    await settlement.write.setCaps([1_000n, 250_000_000_000n, 3600]);
    const batch = await nextBatch([receipt(14, 100_000, 100_000)]);
    const signature = await signBatch(gateway, batch, chainId, settlement.address);
    await viem.assertions.revertWithCustomErrorWithArgs(
      settlement.write.settleBatch([batch, signature]),
      settlement,
      "BatchCapExceeded",
      [entryCharge(batch.entries[0]!), 1_000n],
    );
    await settlement.write.setCaps([50_000_000_000n, 250_000_000_000n, 3600]);
  });

  it("with a price above the published one: the entry is skipped, nobody is charged", async () => {
    const r = { ...receipt(15, 1000, 1000), promptPrice: PROMPT_PRICE + 1n };
    const batch = await nextBatch([{ ...r, cost: receiptCost(r) }]);
    const before = await available(customer.account.address);
    const signature = await signBatch(gateway, batch, chainId, settlement.address);
    await viem.assertions.emitWithArgs(settlement.write.settleBatch([batch, signature]), settlement, "EntrySkipped", [
      1,
      batch.batchId,
      0n,
      1,
    ]);
    assert.equal(await available(customer.account.address), before);
  });

  it("from a revoked signer", async () => {
    await settlement.write.revokeGatewaySigner([1]);
    const batch = await nextBatch([receipt(16, 100, 100)]);
    const signature = await signBatch(gateway, batch, chainId, settlement.address);
    await viem.assertions.revertWithCustomError(settlement.write.settleBatch([batch, signature]), settlement, "UnknownGateway");
    await settlement.write.setGatewaySigner([1, gateway.address]);
  });
});

describe("a dispute opened with entry hashes computed in TypeScript", () => {
  it("is upheld and refunded from unvested earnings", async () => {
    const receipts = [receipt(20, 10_000, 10_000)];
    const batch = await nextBatch(receipts);
    await settlement.write.settleBatch([batch, await signBatch(gateway, batch, chainId, settlement.address)]);
    const charged = entryCharge(batch.entries[0]!);
    const before = await available(customer.account.address);
    await settlement.write.openDispute(
      [{ gatewayId: 1, batchId: batch.batchId, index: 0 }, batch.entries[0]!, entryHashes(batch.entries), charged, keccak256(toHex("wrong model"))],
      { account: customer.account },
    );
    const id = (await settlement.read.nextDisputeId()) - 1n;
    await settlement.write.resolveDispute([id, true, charged]);
    assert.equal((await available(customer.account.address)) - before, charged);
  });

  it("cannot be opened by someone else", async () => {
    const batch = await nextBatch([receipt(21, 10_000, 10_000)]);
    await settlement.write.settleBatch([batch, await signBatch(gateway, batch, chainId, settlement.address)]);
    await viem.assertions.revertWithCustomError(
      settlement.write.openDispute(
        [{ gatewayId: 1, batchId: batch.batchId, index: 0 }, batch.entries[0]!, entryHashes(batch.entries), 1n, keccak256("0x")],
        { account: outsider.account },
      ),
      settlement,
      "NotEntryCustomer",
    );
  });
});

describe("an SLA report signed in TypeScript", () => {
  it("pays the credit the TypeScript formula computes, from stake to escrow", async () => {
    const now = BigInt(await networkHelpers.time.latest());
    const spend = 40_000_000n;
    const report: SlaReport = {
      gatewayId: 1,
      provider: provider.account.address,
      tier: 1,
      windowStart: now - 3600n,
      windowEnd: now,
      requests: 5_000,
      availabilityPpm: 997_500,
      p95TtftMs: 2_100,
      deadline: now + 3600n,
      spends: [{ customer: customer.account.address, spend }],
    };
    const bps = creditBps(DEFAULT_SLA_POLICY, report.requests, report.availabilityPpm, report.p95TtftMs);
    // 0.15% below 99.9% = two started 0.1% steps (2 x 5%), plus 5% for p95 TTFT over 1.5 s.
    assert.equal(bps, 1_500);
    const signature = await gateway.signTypedData({
      domain: domainOf("sla", chainId, slaCredits.address),
      types: slaReportTypes,
      primaryType: "SlaReport",
      message: report,
    });
    const before = await available(customer.account.address);
    const [bondedBefore] = await staking.read.stakeOf([provider.account.address]);
    await slaCredits.write.submitReport([report, signature]);
    const credit = creditFor(spend, bps);
    assert.equal((await available(customer.account.address)) - before, credit);
    const [bondedAfter] = await staking.read.stakeOf([provider.account.address]);
    assert.equal(bondedBefore - bondedAfter, credit);
    await viem.assertions.revertWithCustomError(slaCredits.write.submitReport([report, signature]), slaCredits, "AlreadyReported");
  });
});

describe("the Base deployment module", () => {
  it("hands the AccessManager admin role to the admin with its delay, and leaves the deployer nothing", async () => {
    const admin = outsider.account.address;
    const base = await ignition.deploy(Tollgate, {
      parameters: {
        Tollgate: { usdc: usdc.address, admin, adminDelaySeconds: 172_800, governorDelaySeconds: 172_800, governor: admin, guardian: admin, arbiter: admin },
      },
    });
    const manager = base.accessManager;
    const [deployerIsAdmin] = await manager.read.hasRole([0n, deployer.account.address]);
    const [adminIsAdmin, adminDelay] = await manager.read.hasRole([0n, admin]);
    assert.equal(deployerIsAdmin, false);
    assert.equal(adminIsAdmin, true);
    assert.equal(adminDelay, 172_800);
    const [governs, governorDelay] = await manager.read.hasRole([1n, admin]);
    assert.equal(governs, true);
    assert.equal(governorDelay, 172_800);
    const [deployerGoverns] = await manager.read.hasRole([1n, deployer.account.address]);
    assert.equal(deployerGoverns, false);
  });
});

describe("the role wiring of the deployment module (contracts/ts/roles.ts)", () => {
  it("lets a guardian freeze on Settlement reach ProviderStaking: a frozen provider cannot unbond", async () => {
    const who = provider.account.address;
    await settlement.write.freeze([who]);
    assert.equal(await staking.read.frozen([who]), true);
    await viem.assertions.revertWithCustomErrorWithArgs(
      staking.write.unbond([1n], { account: provider.account }),
      staking,
      "AccountFrozen",
      [getAddress(who)],
    );
    await settlement.write.unfreeze([who]);
    assert.equal(await staking.read.frozen([who]), false);
  });

  it("keeps setFrozen and slashUnlocked to the protocol contracts", async () => {
    const asOutsider = { account: outsider.account };
    await viem.assertions.revertWithCustomError(staking.write.setFrozen([provider.account.address, true], asOutsider), staking, "AccessManagedUnauthorized");
    // The deployer holds every human role on a local chain, and still not PROTOCOL.
    await viem.assertions.revertWithCustomError(
      staking.write.slashUnlocked([provider.account.address, 1n, deployer.account.address, keccak256("0x")]),
      staking,
      "AccessManagedUnauthorized",
    );
  });

  it("lets anyone expire a dispute the arbiter left past its deadline, as rejected", async () => {
    const batch = await nextBatch([receipt(40, 10_000, 10_000)]);
    await settlement.write.settleBatch([batch, await signBatch(gateway, batch, chainId, settlement.address)]);
    await settlement.write.openDispute(
      [{ gatewayId: 1, batchId: batch.batchId, index: 0 }, batch.entries[0]!, entryHashes(batch.entries), 1n, keccak256(toHex("no answer"))],
      { account: customer.account },
    );
    const id = (await settlement.read.nextDisputeId()) - 1n;
    const before = await available(customer.account.address);
    await networkHelpers.time.increase(Number(await settlement.read.disputeResolutionPeriod()));
    await viem.assertions.revertWithCustomError(settlement.write.resolveDispute([id, true, 1n]), settlement, "ResolutionDeadlinePassed");
    await viem.assertions.emit(settlement.write.expireDispute([id], { account: outsider.account }), settlement, "DisputeExpired");
    assert.equal((await settlement.read.disputeOf([id])).status, 4); // Expired
    assert.equal(await available(customer.account.address), before);
  });
});
