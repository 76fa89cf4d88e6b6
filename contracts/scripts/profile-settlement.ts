/**
 * Opcode profile of settlement gas per entry (`npm run profile:settlement`): settles a small and a
 * large batch of distinct, cold, funded parties (as `bench-gas.ts` does), traces both with
 * debug_traceTransaction, and prints the gas each opcode costs per additional entry, split by call
 * depth (1 = Settlement, 2 = the registry's price read). This is how the per-entry overhead above the
 * storage floor is found; the figures are exact, not sampled.
 *
 * PROFILE_SMALL / PROFILE_LARGE set the two batch sizes (default 4 and 36).
 */
import { network } from "hardhat";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import TollgateLocal from "../ignition/modules/TollgateLocal.ts";
import { modelId, signBatch, type Batch, type BatchEntry } from "../ts/index.ts";

const EPOCH = 3600n;
const SMALL = Number(process.env.PROFILE_SMALL ?? 4);
const LARGE = Number(process.env.PROFILE_LARGE ?? 36);
const { viem, ignition, networkHelpers, provider: rpc } = await network.create({ network: "hardhatOp" });
const publicClient = await viem.getPublicClient();
const chainId = await publicClient.getChainId();
const gateway = privateKeyToAccount(generatePrivateKey());
const MODEL = modelId("llama-3.1-8b-instruct");

const d = await ignition.deploy(TollgateLocal, { parameters: { TollgateLocal: { disputeWindowSeconds: Number(EPOCH) } } });
const { usdc, settlement, providerRegistry: registry, providerStaking: staking } = d;
await settlement.write.setGatewaySigner([1, gateway.address]);
await settlement.write.setCaps([2n ** 95n, 2n ** 95n, 3600]);

async function party(): Promise<PrivateKeyAccount> {
  const a = privateKeyToAccount(generatePrivateKey());
  await networkHelpers.setBalance(a.address, 10n ** 20n);
  return a;
}

const parties = SMALL + LARGE;
const providers: PrivateKeyAccount[] = [];
const customers: PrivateKeyAccount[] = [];
for (let i = 0; i < parties; i++) {
  const p = await party();
  await registry.write.register([{ gpuModel: "H100", gpuCount: 1, vramGb: 80, region: "eu", metadataURI: "" }], { account: p });
  await registry.write.listModel(
    [MODEL, { name: "llama", quantization: "fp16", modelHash: keccak256(toHex("w")), contextLength: 8192 }, 200_000, 600_000],
    { account: p },
  );
  await usdc.write.mint([p.address, 1_000_000_000n]);
  await usdc.write.approve([staking.address, 1_000_000_000n], { account: p });
  await staking.write.stake([1_000_000_000n], { account: p });
  providers.push(p);
  const c = await party();
  await usdc.write.mint([c.address, 1_000_000_000n]);
  await usdc.write.approve([settlement.address, 1_000_000_000n], { account: c });
  await settlement.write.deposit([1_000_000_000n], { account: c });
  customers.push(c);
}

const entry = (customer: Address, provider: Address, i: number): BatchEntry => ({
  customer,
  provider,
  model: MODEL,
  requests: 3,
  promptTokens: 3_000n + BigInt(i),
  completionTokens: 1_500n,
  promptPrice: 200_000n,
  completionPrice: 600_000n,
});

async function settle(entries: BatchEntry[]): Promise<Hex> {
  const batch: Batch = {
    gatewayId: 1,
    batchId: await settlement.read.nextBatchId([1]),
    receiptsRoot: keccak256(toHex(entries.length)),
    receiptCount: entries.length,
    deadline: BigInt(await networkHelpers.time.latest()) + 3600n,
    entries,
  };
  const hash = await settlement.write.settleBatch([batch, await signBatch(gateway, batch, chainId, settlement.address)]);
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error("settlement reverted");
  return hash;
}

// Earlier epoch: every provider earns once, so its earnings slot is non-zero and rolls in the measured batch.
await settle(Array.from({ length: parties }, (_, i) => entry(customers[i]!.address, providers[i]!.address, i)));
await networkHelpers.time.increase(EPOCH);

type Step = { op: string; gas: number; gasCost: number; depth: number };
const CALLS = new Set(["CALL", "STATICCALL", "DELEGATECALL", "CALLCODE"]);
const STORAGE = new Set(["SLOAD", "SSTORE"]);

/**
 * Settlement's own steps fall into phases split by its outgoing calls, in code order: ecrecover
 * (after the entry hashes), the registry's priceWords (after the price slots), priceGrace (before
 * the settle loop). Depth 2 is the registry answering priceWords.
 */
const PHASES = [
  "checks, entry hashes and encoding check (_authorize)",
  "signature and price slots (_priceWords)",
  "between the registry calls",
  "settle loop: price rule, charge, debit, credit; caps; record",
];

type Profile = { byOp: Map<string, number>; byPhase: Map<string, number> };

/** Gas by "depth:opcode" and by phase (calls count only their own overhead: the callee's steps are counted at its depth). */
async function profile(hash: Hex): Promise<Profile> {
  const trace = (await rpc.request({
    method: "debug_traceTransaction",
    params: [hash, { disableMemory: true, disableStack: true, disableStorage: true }],
  })) as { structLogs: Step[] };
  const byOp = new Map<string, number>();
  const byPhase = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  const steps = trace.structLogs;
  let phase = 0;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    let cost = s.gasCost;
    if (CALLS.has(s.op)) {
      // Own cost of a call = gas before it - gas after it returns - what the callee used.
      let j = i + 1;
      let calleeUsed = 0;
      while (j < steps.length && steps[j]!.depth > s.depth) {
        if (steps[j]!.depth === s.depth + 1) calleeUsed += steps[j]!.gasCost;
        j++;
      }
      cost = j < steps.length ? s.gas - steps[j]!.gas - calleeUsed : s.gasCost;
    }
    add(byOp, `${s.depth}:${s.op}`, cost);
    const where = s.depth === 1 ? PHASES[phase] ?? `after call ${phase}` : "registry priceWords (depth 2)";
    add(byPhase, `${where}${STORAGE.has(s.op) ? " [storage]" : ""}`, cost);
    if (s.depth === 1 && CALLS.has(s.op)) phase++;
  }
  return { byOp, byPhase };
}

const small = await profile(await settle(Array.from({ length: SMALL }, (_, i) => entry(customers[i]!.address, providers[i]!.address, i))));
const large = await profile(
  await settle(Array.from({ length: LARGE }, (_, i) => entry(customers[SMALL + i]!.address, providers[SMALL + i]!.address, i))),
);

function perEntry(a: Map<string, number>, b: Map<string, number>, sort: boolean): void {
  const rows = [...new Set([...a.keys(), ...b.keys()])]
    .map((k) => ({ k, v: ((b.get(k) ?? 0) - (a.get(k) ?? 0)) / (LARGE - SMALL) }))
    .filter((r) => Math.abs(r.v) >= 0.5);
  if (sort) rows.sort((x, y) => y.v - x.v);
  const width = Math.max(...rows.map((r) => r.k.length));
  let total = 0;
  for (const r of rows) {
    total += r.v;
    console.log(`  ${r.k.padEnd(width)} ${r.v.toFixed(1).padStart(9)}`);
  }
  console.log(`  ${"total".padEnd(width)} ${total.toFixed(1).padStart(9)}`);
}

console.log(`gas per additional distinct entry (${SMALL} -> ${LARGE} entries), by phase:`);
perEntry(small.byPhase, large.byPhase, false);
console.log(`\nby call depth and opcode:`);
perEntry(small.byOp, large.byOp, true);
