/**
 * The chain as the provider CLI sees it: clients for the RPC and the deployment, a provider account,
 * and `send`, which simulates a call (so a revert is explained before any gas is spent), sends it,
 * waits for the receipt and explains a revert that happens anyway.
 */
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  encodeFunctionData,
  http,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { base, baseSepolia } from "viem/chains";
import type { Deployment } from "@tollgate/protocol/deployments";
import { InputError } from "./config.ts";
import { decodeRevertData, explainRevert, revertOf, TxError, withAllErrors } from "./errors.ts";
import { explorerTx } from "./format.ts";

export type Chain_ = {
  chain: Chain;
  deployment: Deployment;
  publicClient: PublicClient;
};

export type Signer = Chain_ & {
  account: Account;
  walletClient: WalletClient;
};

export type Out = (line: string) => void;

function chainFor(chainId: number, rpcUrl: string): Chain {
  if (chainId === base.id) return { ...base, rpcUrls: { default: { http: [rpcUrl] } } };
  if (chainId === baseSepolia.id) return { ...baseSepolia, rpcUrls: { default: { http: [rpcUrl] } } };
  return defineChain({
    id: chainId,
    name: chainId === 31337 ? "Tollgate devnet" : `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

/** Connects and checks that the RPC serves the chain the deployment is on. */
export async function connect(rpcUrl: string, deployment: Deployment): Promise<Chain_> {
  const chain = chainFor(deployment.chainId, rpcUrl);
  const publicClient = createPublicClient({ chain, transport: http(rpcUrl, { retryCount: 1, timeout: 30_000 }) }) as PublicClient;
  let rpcChainId: number;
  try {
    rpcChainId = await publicClient.getChainId();
  } catch (err) {
    throw new TxError(`cannot reach the RPC endpoint ${rpcUrl}: ${(err as { shortMessage?: string }).shortMessage ?? (err as Error).message}`);
  }
  if (rpcChainId !== deployment.chainId) {
    throw new InputError(`the RPC endpoint serves chain ${rpcChainId} but the deployment is on chain ${deployment.chainId}: check --rpc-url and --deployment`);
  }
  const code = await publicClient.getCode({ address: deployment.contracts.providerRegistry });
  if (!code || code === "0x") {
    throw new InputError(`no ProviderRegistry at ${deployment.contracts.providerRegistry} on chain ${rpcChainId}: the deployment manifest does not match this chain`);
  }
  return { chain, deployment, publicClient };
}

export function withSigner(c: Chain_, privateKey: Hex, rpcUrl: string): Signer {
  const account = privateKeyToAccount(privateKey);
  const walletClient = createWalletClient({ account, chain: c.chain, transport: http(rpcUrl, { retryCount: 1, timeout: 30_000 }) });
  return { ...c, account, walletClient };
}

/** The chain's clock (latest block), which is what unlock and vest times are measured against. */
export async function chainNow(c: Chain_): Promise<bigint> {
  const block = await c.publicClient.getBlock({ blockTag: "latest" });
  return block.timestamp;
}

export type Call = {
  address: Address;
  abi: Abi;
  functionName: string;
  args?: readonly unknown[];
};

export type Sent = { hash: Hex; receipt: TransactionReceipt };

/**
 * Simulate, send, wait. `what` says what the transaction does ("stake 100.00 USDC"); it is printed
 * with the hash (and an explorer link on Base networks). A revert throws a TxError in words.
 */
export async function send(s: Signer, what: string, call: Call, out: Out): Promise<Sent> {
  const abi = withAllErrors(call.abi);
  let request;
  try {
    ({ request } = await s.publicClient.simulateContract({
      account: s.account,
      address: call.address,
      abi,
      functionName: call.functionName,
      args: call.args ?? [],
    } as never));
  } catch (err) {
    const revert = revertOf(err);
    if (revert) throw new TxError(`${what} would fail: ${explainRevert(revert, await chainNow(s))}`, revert);
    throw err;
  }
  const hash = await s.walletClient.writeContract(request as never);
  out(`${what}: sent ${hash}`);
  const link = explorerTx(s.deployment.chainId, hash);
  if (link) out(`  ${link}`);
  const receipt = await s.publicClient.waitForTransactionReceipt({ hash, timeout: 180_000 });
  if (receipt.status === "reverted") {
    // Replay at the block it failed in to learn why (the state moved between simulation and mining).
    let explanation = "reverted";
    let revert;
    try {
      await s.publicClient.call({
        account: s.account,
        to: call.address,
        data: encodeFunctionData({ abi, functionName: call.functionName, args: call.args ?? [] } as never),
        blockNumber: receipt.blockNumber,
      });
    } catch (err) {
      revert = revertOf(err) ?? decodeFromRaw(err);
      if (revert) explanation = explainRevert(revert, await chainNow(s));
    }
    throw new TxError(`${what} reverted in block ${receipt.blockNumber} (tx ${hash}): ${explanation}`, revert);
  }
  out(`  confirmed in block ${receipt.blockNumber}`);
  return { hash, receipt };
}

function decodeFromRaw(err: unknown) {
  const data = (err as { data?: Hex; cause?: { data?: Hex } })?.data ?? (err as { cause?: { data?: Hex } })?.cause?.data;
  return typeof data === "string" ? decodeRevertData(data) : undefined;
}
