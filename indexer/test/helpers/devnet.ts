/**
 * Test chain: anvil with the real contracts (@tollgate/protocol/devnet), viem clients, and small
 * helpers for the transactions the scenarios send. Every transaction is real and mined.
 */
import { createPublicClient, createWalletClient, http, keccak256, toHex, type Abi, type Address, type Hex, type PublicClient, type WalletClient } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import {
  domainOf, modelId, providerRegistryAbi, providerStakingAbi, receiptCost, receiptTree, settlementAbi, signBatch, slaCreditsAbi, slaReportTypes,
  testUsdcAbi, type BatchEntry, type Deployment, type Receipt, type SlaReport,
} from "@tollgate/protocol";
import { ANVIL_KEYS, deployProtocol, localChain, startAnvil, type Anvil } from "@tollgate/protocol/devnet";

export type Wallet = WalletClient & { account: PrivateKeyAccount };
export type Devnet = {
  anvil: Anvil;
  url: string;
  pc: PublicClient;
  deployment: Deployment;
  wallet(i: number): Wallet;
  send(w: Wallet, contract: keyof typeof ABIS, functionName: string, args?: unknown[]): Promise<Hex>;
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  warp(seconds: number): Promise<void>;
  mine(n?: number): Promise<void>;
  now(): Promise<bigint>;
  stop(): Promise<void>;
};

export const ABIS = {
  usdc: testUsdcAbi, providerRegistry: providerRegistryAbi, providerStaking: providerStakingAbi, settlement: settlementAbi, slaCredits: slaCreditsAbi,
} as const;

export async function startDevnet(opts: { disputeWindowSeconds?: number } = {}): Promise<Devnet> {
  const anvil = await startAnvil();
  const chain = localChain(anvil.url);
  const transport = http(anvil.url);
  const pc = createPublicClient({ chain, transport, pollingInterval: 20 }) as PublicClient;
  const wallets = new Map<number, Wallet>();
  const wallet = (i: number) => {
    if (!wallets.has(i)) wallets.set(i, createWalletClient({ chain, transport, account: privateKeyToAccount(ANVIL_KEYS[i]!) }) as Wallet);
    return wallets.get(i)!;
  };
  const deployment = await deployProtocol(wallet(0), pc, { disputeWindowSeconds: opts.disputeWindowSeconds ?? 3600 });
  let id = 0;
  const rpc = async <T>(method: string, params: unknown[] = []) => {
    const res = await fetch(anvil.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }) });
    const body = (await res.json()) as { result?: T; error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result as T;
  };
  const addressOf = (c: keyof typeof ABIS): Address => (c === "usdc" ? deployment.contracts.usdc : deployment.contracts[c]);
  return {
    anvil, url: anvil.url, pc, deployment, wallet, rpc,
    async send(w, contract, functionName, args = []) {
      const hash = await w.writeContract({ address: addressOf(contract), abi: ABIS[contract] as Abi, functionName, args, chain: w.chain, account: w.account } as never);
      const r = await pc.waitForTransactionReceipt({ hash });
      if (r.status !== "success") throw new Error(`${contract}.${functionName} reverted`);
      return hash;
    },
    async warp(seconds) {
      await rpc("evm_increaseTime", [seconds]);
      await rpc("evm_mine", []);
    },
    async mine(n = 1) {
      await rpc("anvil_mine", [toHex(n)]);
    },
    async now() {
      return (await pc.getBlock()).timestamp;
    },
    stop: () => anvil.stop(),
  };
}

export const MODEL_A = modelId("llama-3.1-8b-instruct");
export const MODEL_B = modelId("qwen-2.5-7b");

export function modelInfo(name: string, contextLength = 8192) {
  return { name, quantization: "fp16", modelHash: keccak256(toHex(name)), contextLength };
}

/** One receipt per request of each entry, consistent with the entry's token counts. */
export function receiptsFor(entries: BatchEntry[], worker: Address, servedAt: bigint, salt: string): Receipt[] {
  const out: Receipt[] = [];
  entries.forEach((e, i) => {
    for (let k = 0; k < e.requests; k++) {
      const last = k === e.requests - 1;
      const pt = last ? e.promptTokens - (e.promptTokens / BigInt(e.requests)) * BigInt(e.requests - 1) : e.promptTokens / BigInt(e.requests);
      const ct = last ? e.completionTokens - (e.completionTokens / BigInt(e.requests)) * BigInt(e.requests - 1) : e.completionTokens / BigInt(e.requests);
      const base = { promptTokens: Number(pt), completionTokens: Number(ct), promptPrice: e.promptPrice, completionPrice: e.completionPrice };
      out.push({
        id: keccak256(toHex(`${salt}-${i}-${k}`)), customer: e.customer, provider: e.provider, worker, model: e.model,
        ...base, cachedTokens: 0, reasoningTokens: 0, cost: receiptCost(base), ttftMs: 200, durationMs: 900, status: 0, servedAt,
      });
    }
  });
  return out;
}

/** Sign and submit a batch built from receipts; returns its entries and root. */
export async function settle(dn: Devnet, signer: Wallet, submitter: Wallet, gatewayId: number, entries: BatchEntry[], receipts: Receipt[]) {
  const batchId = (await dn.pc.readContract({ address: dn.deployment.contracts.settlement, abi: settlementAbi, functionName: "nextBatchId", args: [gatewayId] })) as bigint;
  const root = receiptTree(receipts).root as Hex;
  const batch = { gatewayId, batchId, receiptsRoot: root, receiptCount: receipts.length, deadline: (await dn.now()) + 3600n, entries };
  const sig = await signBatch(signer.account, batch, dn.deployment.chainId, dn.deployment.contracts.settlement);
  const typed = { ...batch, entries: entries.map((e) => ({ ...e, promptPrice: Number(e.promptPrice), completionPrice: Number(e.completionPrice) })) };
  const tx = await dn.send(submitter, "settlement", "settleBatch", [typed, sig]);
  return { batchId, root, tx };
}

export async function signSla(dn: Devnet, signer: Wallet, report: SlaReport): Promise<Hex> {
  return signer.account.signTypedData({
    domain: domainOf("sla", dn.deployment.chainId, dn.deployment.contracts.slaCredits),
    types: slaReportTypes,
    primaryType: "SlaReport",
    message: report as never,
  });
}
