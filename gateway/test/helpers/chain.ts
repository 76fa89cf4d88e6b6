/**
 * A real local chain for gateway tests: anvil (from the @foundry-rs/anvil-linux-amd64 npm package)
 * on a free 127.0.0.1 port, and the real contracts deployed with viem from the generated ABIs and
 * bytecode, wired with the role table of contracts/ts/roles.ts exactly as the Ignition module does.
 */
import { createPublicClient, createWalletClient, http, type Abi, type Address, type Hex, type PublicClient, type WalletClient } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { settlementAbi, testUsdcAbi } from "@tollgate/protocol";
import { ANVIL_KEYS, deployProtocol as deployLocal, localChain, sendTx, setUpProvider, startAnvil } from "@tollgate/protocol/devnet";
import type { ChildProcess } from "node:child_process";

export { ANVIL_KEYS };

export type Chain = {
  url: string;
  chainId: number;
  process: ChildProcess;
  publicClient: PublicClient;
  wallet(key: Hex): WalletClient & { account: PrivateKeyAccount };
  stop(): Promise<void>;
};

export async function startChain(chainId = 31337): Promise<Chain> {
  const anvil = await startAnvil({ chainId });
  const chain = localChain(anvil.url, chainId);
  const transport = http(anvil.url);
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 50 }) as PublicClient;
  return {
    url: anvil.url,
    chainId,
    process: anvil.process,
    publicClient,
    wallet: (key) => createWalletClient({ chain, transport, account: privateKeyToAccount(key) }) as WalletClient & { account: PrivateKeyAccount },
    stop: anvil.stop,
  };
}

export type Contracts = { usdc: Address; accessManager: Address; registry: Address; staking: Address; settlement: Address; slaCredits: Address; deployBlock: number };

/** Deploys TestUSDC and the protocol; the deployer is admin, governor (no delay), guardian and arbiter. */
export async function deployProtocol(deployer: WalletClient & { account: PrivateKeyAccount }, publicClient: PublicClient, opts: { disputeWindowSeconds?: number } = {}): Promise<Contracts> {
  const d = await deployLocal(deployer, publicClient, { disputeWindowSeconds: opts.disputeWindowSeconds ?? 3600 });
  const c = d.contracts;
  return {
    usdc: c.usdc,
    accessManager: c.accessManager,
    registry: c.providerRegistry,
    staking: c.providerStaking,
    settlement: c.settlement,
    slaCredits: c.slaCredits,
    deployBlock: d.deployBlock,
  };
}

/** Send a contract call and wait for it to be mined; throws if it reverted. */
export async function write(w: WalletClient & { account: PrivateKeyAccount }, pc: PublicClient, address: Address, abi: unknown, functionName: string, args: unknown[]): Promise<void> {
  await sendTx(pc, w, address, abi as Abi, functionName, args);
}

/** A provider: registered, model(s) listed at a price, staked, worker keys authorized. */
export async function setupProvider(
  c: Contracts,
  deployer: WalletClient & { account: PrivateKeyAccount },
  provider: WalletClient & { account: PrivateKeyAccount },
  pc: PublicClient,
  opts: { models: { name: string; promptPrice: bigint; completionPrice: bigint; contextLength?: number }[]; workers: Address[]; stake?: bigint },
): Promise<void> {
  await setUpProvider(pc, deployer, provider, { usdc: c.usdc, providerRegistry: c.registry, providerStaking: c.staking }, {
    profile: { gpuModel: "SIM", gpuCount: 1, vramGb: 80, region: "local", metadataURI: "ipfs://sim" },
    models: opts.models.map((m) => ({ ...m, contextLength: m.contextLength ?? 8192 })),
    stake: opts.stake ?? 1_000_000_000n,
    workers: opts.workers,
  });
}

/** Mint USDC to a customer and deposit it into escrow. */
export async function fundCustomer(c: Contracts, deployer: WalletClient & { account: PrivateKeyAccount }, customer: WalletClient & { account: PrivateKeyAccount }, pc: PublicClient, amount: bigint): Promise<void> {
  await write(deployer, pc, c.usdc, testUsdcAbi, "mint", [customer.account.address, amount]);
  await write(customer, pc, c.usdc, testUsdcAbi, "approve", [c.settlement, amount]);
  await write(customer, pc, c.settlement, settlementAbi, "deposit", [amount]);
}

export async function setGatewaySigner(c: Contracts, deployer: WalletClient & { account: PrivateKeyAccount }, pc: PublicClient, gatewayId: number, signer: Address): Promise<void> {
  await write(deployer, pc, c.settlement, settlementAbi, "setGatewaySigner", [gatewayId, signer]);
}

export async function available(c: Contracts, pc: PublicClient, customer: Address): Promise<bigint> {
  const [a] = (await pc.readContract({ address: c.settlement, abi: settlementAbi, functionName: "accountOf", args: [customer] })) as readonly [bigint, bigint, number];
  return a;
}
