/**
 * Shared by the end-to-end tests: a devnet on free ports in a temporary directory, a fresh customer
 * funded through the product path, chain reads, time travel, receipts as published, GraphQL.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeFunctionData, type Abi, type Address, type Hex, type PublicClient } from "viem";
import {
  providerStakingAbi,
  receiptFromJson,
  settlementAbi,
  testUsdcAbi,
  type BatchEntry,
  type Receipt,
} from "@tollgate/protocol";
import { ANVIL_KEYS } from "@tollgate/protocol/devnet";
import { chainClients, createApiKey, depositWithPermit, send, signIn, startDevnet, type ChainClients, type Devnet, type DevnetOptions, type Signer } from "@tollgate/devnet";

export const REPO_ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
/** The indexer lands in its own workspace; GraphQL checks run when it is in this checkout. */
export const HAS_INDEXER = existsSync(join(REPO_ROOT, "indexer/src/cli.ts"));
export const NO_INDEXER_REASON = "no indexer/ workspace in this checkout: GraphQL checks need @tollgate/indexer";

export type TestNet = Devnet & { clients: ChainClients; dataDir: string; close(): Promise<void> };

export async function startTestNet(opts: DevnetOptions = {}): Promise<TestNet> {
  const dataDir = mkdtempSync(join(tmpdir(), "tollgate-e2e-"));
  const devnet = await startDevnet({ fresh: true, portBase: 0, dataDir, quiet: true, web: false, ...opts });
  const clients = chainClients(devnet.manifest.rpcUrl, devnet.manifest.chainId);
  return {
    ...devnet,
    clients,
    dataDir,
    close: async () => {
      await devnet.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type Customer = { wallet: Signer; apiKey: string; session: string };

/** A new customer (anvil account `index`): test USDC minted, `deposit` put in escrow with a permit, signed in, an API key created. */
export async function newCustomer(net: TestNet, index: number, deposit: bigint): Promise<Customer> {
  const m = net.manifest;
  const pc = net.clients.publicClient;
  const deployer = net.clients.wallet(m.accounts.deployer.privateKey);
  const wallet = net.clients.wallet(ANVIL_KEYS[index]!);
  await send(pc, deployer, m.deployment.contracts.usdc, testUsdcAbi as Abi, "mint", [wallet.account.address, deposit]);
  await depositWithPermit(pc, wallet, m.deployment, deposit);
  const session = await signIn(m.gatewayUrl, wallet.account, { domain: m.siweDomain, chainId: m.chainId });
  const { key } = await createApiKey(m.gatewayUrl, session, "e2e");
  return { wallet, apiKey: key, session };
}

/**
 * The gateway learns of a deposit by following the chain (every 500 ms on the devnet), so a request
 * right after depositing can meet 402. Retries only that answer, for a while; nothing is charged for it.
 */
export async function onceFunded<T>(call: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status !== 402 || Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export async function gatewayAccount(gatewayUrl: string, session: string): Promise<{ tier: string; available?: string; spendable?: string }> {
  const res = await fetch(`${gatewayUrl}/v1/account`, { headers: { authorization: `Bearer ${session}` } });
  if (!res.ok) throw new Error(`GET /v1/account: HTTP ${res.status}`);
  return (await res.json()) as { tier: string; available?: string; spendable?: string };
}

export async function escrowAvailable(net: TestNet, customer: Address): Promise<bigint> {
  const [available] = (await net.clients.publicClient.readContract({ address: net.manifest.deployment.contracts.settlement, abi: settlementAbi, functionName: "accountOf", args: [customer] })) as readonly [bigint, bigint, number];
  return available;
}

export async function earningsOf(net: TestNet, provider: Address): Promise<{ claimable: bigint; vesting: bigint }> {
  const [claimable, vesting] = (await net.clients.publicClient.readContract({ address: net.manifest.deployment.contracts.settlement, abi: settlementAbi, functionName: "earningsOf", args: [provider] })) as readonly [bigint, bigint, number];
  return { claimable, vesting };
}

export async function bondedStake(net: TestNet, provider: Address): Promise<bigint> {
  const [bonded] = (await net.clients.publicClient.readContract({ address: net.manifest.deployment.contracts.providerStaking, abi: providerStakingAbi, functionName: "stakeOf", args: [provider] })) as readonly [bigint, bigint, number, boolean, bigint];
  return bonded;
}

export async function readSettlement<T>(net: TestNet, functionName: string, args: readonly unknown[] = []): Promise<T> {
  return (await net.clients.publicClient.readContract({ address: net.manifest.deployment.contracts.settlement, abi: settlementAbi as Abi, functionName, args })) as T;
}

/** Moves the chain's clock forward and mines a block (anvil). */
export async function advanceTime(pc: PublicClient, seconds: number): Promise<void> {
  await pc.request({ method: "evm_increaseTime" as never, params: [seconds] as never });
  await pc.request({ method: "evm_mine" as never, params: [] as never });
}

export type PublishedReceipt = { receipt: Receipt; batchId: bigint; root: Hex; proof: Hex[]; txHash: Hex; settled: boolean };

/** Waits until the receipt's batch is settled on-chain; returns the receipt as the gateway publishes it. */
export async function settledReceipt(gatewayUrl: string, receiptId: Hex, timeoutMs = 60_000): Promise<PublishedReceipt> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${gatewayUrl}/v1/receipts/${receiptId}`);
    if (res.status === 200) {
      const body = (await res.json()) as { receipt: unknown; batch: { batchId: string; receiptsRoot: Hex; txHash: Hex; settled: boolean } | null; proof: Hex[] | null };
      if (body.batch?.settled && body.proof) {
        return { receipt: receiptFromJson(body.receipt), batchId: BigInt(body.batch.batchId), root: body.batch.receiptsRoot, proof: body.proof, txHash: body.batch.txHash, settled: true };
      }
    }
    if (Date.now() > end) throw new Error(`receipt ${receiptId} was not in a settled batch within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The entries exactly as the gateway signed and sent them, from the settleBatch transaction. */
export async function batchEntriesFromTx(pc: PublicClient, txHash: Hex): Promise<BatchEntry[]> {
  const tx = await pc.getTransaction({ hash: txHash });
  const { functionName, args } = decodeFunctionData({ abi: settlementAbi as Abi, data: tx.input });
  if (functionName !== "settleBatch") throw new Error(`tx ${txHash} is ${functionName}, not settleBatch`);
  // viem decodes uint48 prices as numbers; the protocol's BatchEntry holds bigints.
  return (args![0] as { entries: BatchEntry[] }).entries.map((e) => ({
    ...e,
    requests: Number(e.requests),
    promptTokens: BigInt(e.promptTokens),
    completionTokens: BigInt(e.completionTokens),
    promptPrice: BigInt(e.promptPrice),
    completionPrice: BigInt(e.completionPrice),
  }));
}

export async function graphql<T>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors?.length) throw new Error(`GraphQL: ${body.errors.map((e) => e.message).join("; ")}`);
  return body.data!;
}

export async function waitFor<T>(pick: () => Promise<T> | T, timeoutMs: number, what: string): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await pick();
    if (v !== undefined && v !== null && v !== false) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
