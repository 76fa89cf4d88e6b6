/**
 * Gas benchmark (`npm run bench:gas`): deploys the protocol with the production build profile on an
 * in-process OP-stack chain, then measures the user-facing operations and settlement batches of
 * 1, 100 and 256 entries, with distinct cold funded parties and with repeated parties.
 *
 * "Distinct, cold, funded": every customer has an escrow balance and every provider has stake and
 * earnings from an earlier epoch, so each entry writes two slots that are non-zero and cold (the
 * physical floor is 2 x 5,000 gas); the measured batch also rolls every provider's vesting epoch.
 */
import { network } from "hardhat";
import { keccak256, parseSignature, toHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import TollgateLocal from "../ignition/modules/TollgateLocal.ts";
import { modelId, signBatch, slaReportTypes, domainOf, type Batch, type BatchEntry } from "../ts/index.ts";

const EPOCH = 3600n;
const { viem, ignition, networkHelpers } = await network.create({ network: "hardhatOp" });
const publicClient = await viem.getPublicClient();
const [deployer] = await viem.getWalletClients();
const chainId = await publicClient.getChainId();
const gateway = privateKeyToAccount(generatePrivateKey());
const MODEL = modelId("llama-3.1-8b-instruct");
const PROMPT_PRICE = 200_000n;
const COMPLETION_PRICE = 600_000n;

const d = await ignition.deploy(TollgateLocal, { parameters: { TollgateLocal: { disputeWindowSeconds: Number(EPOCH) } } });
const { usdc, settlement, providerRegistry: registry, providerStaking: staking, slaCredits } = d;
await settlement.write.setGatewaySigner([1, gateway.address]);
await settlement.write.setCaps([2n ** 95n, 2n ** 95n, 3600]);

type Row = { label: string; gasUsed: bigint; calldata: bigint; execution: bigint };
const results: Row[] = [];

/** Calldata gas (EIP-2028: 4 per zero byte, 16 per non-zero byte). */
function calldataGas(input: Hex): bigint {
  let gas = 0n;
  for (let i = 2; i < input.length; i += 2) gas += input.slice(i, i + 2) === "00" ? 4n : 16n;
  return gas;
}

/** Returns the execution gas: gas used less the 21,000 intrinsic cost and the calldata. */
async function measure(label: string, hash: Promise<Hex>, record = true): Promise<bigint> {
  const txHash = await hash;
  const receipt = await publicClient.waitForTransactionReceipt({ hash: txHash });
  if (receipt.status !== "success") throw new Error(`${label} reverted`);
  const tx = await publicClient.getTransaction({ hash: txHash });
  const calldata = calldataGas(tx.input);
  const row = { label, gasUsed: receipt.gasUsed, calldata, execution: receipt.gasUsed - 21_000n - calldata };
  if (record) results.push(row);
  return row.execution;
}

/** Funded test accounts: the deployer pays their gas through setBalance. */
async function actors(n: number): Promise<PrivateKeyAccount[]> {
  const list: PrivateKeyAccount[] = [];
  for (let i = 0; i < n; i++) {
    const a = privateKeyToAccount(generatePrivateKey());
    await networkHelpers.setBalance(a.address, 10n ** 20n);
    list.push(a);
  }
  return list;
}

async function makeProviders(n: number): Promise<PrivateKeyAccount[]> {
  const list = await actors(n);
  for (const p of list) {
    await registry.write.register([{ gpuModel: "H100", gpuCount: 1, vramGb: 80, region: "eu", metadataURI: "" }], { account: p });
    await registry.write.listModel(
      [MODEL, { name: "llama", quantization: "fp16", modelHash: keccak256(toHex("w")), contextLength: 8192 }, Number(PROMPT_PRICE), Number(COMPLETION_PRICE)],
      { account: p },
    );
    await usdc.write.mint([p.address, 1_000_000_000n]);
    await usdc.write.approve([staking.address, 1_000_000_000n], { account: p });
    await staking.write.stake([1_000_000_000n], { account: p });
  }
  return list;
}

async function makeCustomers(n: number): Promise<PrivateKeyAccount[]> {
  const list = await actors(n);
  for (const c of list) {
    await usdc.write.mint([c.address, 1_000_000_000n]);
    await usdc.write.approve([settlement.address, 1_000_000_000n], { account: c });
    await settlement.write.deposit([1_000_000_000n], { account: c });
  }
  return list;
}

function entry(customer: Address, provider: Address, i: number): BatchEntry {
  return {
    customer,
    provider,
    model: MODEL,
    requests: 3,
    promptTokens: 3_000n + BigInt(i),
    completionTokens: 1_500n,
    promptPrice: PROMPT_PRICE,
    completionPrice: COMPLETION_PRICE,
  };
}

async function settle(label: string, entries: BatchEntry[], record = true): Promise<bigint> {
  const batch: Batch = {
    gatewayId: 1,
    batchId: await settlement.read.nextBatchId([1]),
    receiptsRoot: keccak256(toHex(label)),
    receiptCount: entries.length * 3,
    deadline: BigInt(await networkHelpers.time.latest()) + 3600n,
    entries,
  };
  return measure(label, settlement.write.settleBatch([batch, await signBatch(gateway, batch, chainId, settlement.address)]), record);
}

// BENCH_QUICK=1 measures only the 1- and 100-entry batches (for profiling changes quickly).
const QUICK = process.env.BENCH_QUICK === "1";
const PARTIES = QUICK ? 101 : 256;
process.stdout.write(`setting up ${PARTIES} providers and ${PARTIES} customers `);
const providers = await makeProviders(PARTIES);
process.stdout.write(". ");
const customers = await makeCustomers(PARTIES);
console.log(". done");

// User operations.
const [alice] = await actors(1);
await usdc.write.mint([alice!.address, 10_000_000n]);
await usdc.write.approve([settlement.address, 10_000_000n], { account: alice });
await measure("deposit (first, cold account)", settlement.write.deposit([5_000_000n], { account: alice }));
await measure("deposit (again)", settlement.write.deposit([1_000_000n], { account: alice }));
{
  const deadline = BigInt(await networkHelpers.time.latest()) + 600n;
  const value = 1_000_000n;
  const signature = await alice!.signTypedData({
    domain: { name: "USD Coin", version: "2", chainId, verifyingContract: usdc.address },
    types: { Permit: [{ name: "owner", type: "address" }, { name: "spender", type: "address" }, { name: "value", type: "uint256" }, { name: "nonce", type: "uint256" }, { name: "deadline", type: "uint256" }] },
    primaryType: "Permit",
    message: { owner: alice!.address, spender: settlement.address, value, nonce: await usdc.read.nonces([alice!.address]), deadline },
  });
  const { v, r, s } = parseSignature(signature);
  await measure("depositWithPermit", settlement.write.depositWithPermit([alice!.address, value, deadline, Number(v), r, s], { account: alice }));
}
{
  const [p] = await makeProviders(1);
  await usdc.write.mint([p!.address, 1_000_000n]);
  await usdc.write.approve([staking.address, 1_000_000n], { account: p });
  await measure("stake (top-up)", staking.write.stake([1_000_000n], { account: p }));
}

// Earlier epoch: every provider earns once, so its earnings slot is non-zero (as for any provider in service).
for (let from = 0; from < PARTIES; from += 128) {
  const slice: BatchEntry[] = [];
  for (let i = from; i < Math.min(from + 128, PARTIES); i++) slice.push(entry(customers[i]!.address, providers[i]!.address, i));
  await settle(`warm-up ${from}`, slice, false);
}
await networkHelpers.time.increase(EPOCH);

const distinct = (n: number, offset = 0) =>
  Array.from({ length: n }, (_, i) => entry(customers[(i + offset) % 256]!.address, providers[(i + offset) % 256]!.address, i));
const g1 = await settle("settle 1 entry, distinct parties", distinct(1));
const g100 = await settle("settle 100 entries, distinct cold parties", distinct(100, 1));
if (QUICK) {
  console.log(results.map((r) => `${r.label}: used ${r.gasUsed}, calldata ${r.calldata}, execution ${r.execution}`).join("\n"));
  console.log(`marginal execution gas per distinct entry (1 -> 100): ${(g100 - g1) / 99n}`);
  process.exit(0);
}
await networkHelpers.time.increase(EPOCH);
const g256 = await settle("settle 256 entries, distinct cold parties", distinct(256));
// Repeated parties: 16 customers x 16 providers, each party in 16 entries.
const repeated = Array.from({ length: 256 }, (_, i) => entry(customers[i % 16]!.address, providers[Math.floor(i / 16)]!.address, i));
await settle("settle 256 entries, 16 customers x 16 providers", repeated);
await settle("settle 100 entries, one customer, one provider per entry", Array.from({ length: 100 }, (_, i) => entry(customers[0]!.address, providers[i]!.address, i)));

// Claim after vesting.
await networkHelpers.time.increase(EPOCH * 3n);
await measure("claim", settlement.write.claim({ account: providers[0] }));

// SLA report with 10 customers, credit owed.
{
  const now = BigInt(await networkHelpers.time.latest());
  const report = {
    gatewayId: 1,
    provider: providers[1]!.address,
    tier: 0,
    windowStart: now - 3600n,
    windowEnd: now,
    requests: 5_000,
    availabilityPpm: 997_000,
    p95TtftMs: 2_000,
    deadline: now + 3600n,
    spends: customers.slice(0, 10).map((c) => ({ customer: c.address, spend: 10_000_000n })),
  };
  const signature = await gateway.signTypedData({ domain: domainOf("sla", chainId, slaCredits.address), types: slaReportTypes, primaryType: "SlaReport", message: report });
  await measure("SLA report (10 customers credited)", slaCredits.write.submitReport([report, signature]));
}

const width = Math.max(...results.map((r) => r.label.length));
const fmt = (n: bigint) => n.toLocaleString("en-US").padStart(11);
console.log(`\n${"operation".padEnd(width)}  ${"gas used".padStart(11)}  ${"calldata".padStart(11)}  ${"execution".padStart(11)}`);
for (const r of results) console.log(`${r.label.padEnd(width)}  ${fmt(r.gasUsed)}  ${fmt(r.calldata)}  ${fmt(r.execution)}`);
console.log("(execution = gas used - 21,000 intrinsic - calldata; the storage floor applies to execution)");
const marginal100 = (g100 - g1) / 99n;
const marginal = (g256 - g100) / 156n;
console.log(`\nper distinct entry, 1 -> 100: ${marginal100.toLocaleString("en-US")}; 100 -> 256: ${marginal.toLocaleString("en-US")}`);
const used256 = results.find((r) => r.label.startsWith("settle 256 entries, distinct"))!.gasUsed;
console.log(`256-entry batch: ${used256.toLocaleString("en-US")} gas used in all (target < 6,000,000: ${used256 < 6_000_000n ? "met" : "MISSED"})`);
console.log(`marginal gas per distinct entry: ${marginal}`);
if (marginal > 15_000n || used256 >= 6_000_000n) process.exitCode = 1;
