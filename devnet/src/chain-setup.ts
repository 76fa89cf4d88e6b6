/**
 * The devnet's on-chain state, built with real signed transactions: the protocol deployed, the
 * gateway signer set, a devnet SLA policy, three registered and staked demo providers with their
 * worker keys authorized, and a demo customer who deposits with an EIP-2612 permit.
 */
import {
  createPublicClient,
  createWalletClient,
  hexToSignature,
  http,
  keccak256,
  toHex,
  type Abi,
  type Address,
  type Hex,
  type PublicClient,
  type WalletClient,
} from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import {
  DEFAULT_SLA_POLICY,
  modelId,
  permitTypes,
  providerRegistryAbi,
  providerStakingAbi,
  settlementAbi,
  slaCreditsAbi,
  testUsdcAbi,
  usdcDomain,
  type Deployment,
} from "@tollgate/protocol";
import { deployProtocol, localChain } from "@tollgate/protocol/devnet";
import { ACCOUNT_INDEX, anvilKey, CUSTOMER_DEPOSIT, CUSTOMER_MINT, DEMO_PROVIDERS, DEVNET_MIN_SLA_REQUESTS, GATEWAY_ID, workerKey } from "./demo.ts";

export type Signer = WalletClient & { account: PrivateKeyAccount };

export type ChainClients = { publicClient: PublicClient; wallet(key: Hex): Signer };

export function chainClients(rpcUrl: string, chainId: number): ChainClients {
  const chain = localChain(rpcUrl, chainId);
  const transport = http(rpcUrl);
  return {
    publicClient: createPublicClient({ chain, transport, pollingInterval: 50 }) as PublicClient,
    wallet: (key) => createWalletClient({ chain, transport, account: privateKeyToAccount(key) }) as Signer,
  };
}

/** Sends a contract call, waits for it and fails loudly if it reverted. */
export async function send(pc: PublicClient, w: Signer, address: Address, abi: Abi, functionName: string, args: readonly unknown[]): Promise<Hex> {
  const hash = await w.writeContract({ address, abi, functionName, args, chain: w.chain, account: w.account } as never);
  const receipt = await pc.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${functionName} reverted (tx ${hash})`);
  return hash;
}

/** Deposits `amount` of `owner`'s USDC into escrow with one signed permit and one transaction. */
export async function depositWithPermit(pc: PublicClient, owner: Signer, d: Deployment, amount: bigint): Promise<Hex> {
  const { usdc, settlement } = d.contracts;
  const nonce = (await pc.readContract({ address: usdc, abi: testUsdcAbi, functionName: "nonces", args: [owner.account.address] })) as bigint;
  const block = await pc.getBlock();
  const deadline = block.timestamp + 3600n;
  const signature = await owner.account.signTypedData({
    domain: usdcDomain(d.chainId, usdc),
    types: permitTypes,
    primaryType: "Permit",
    message: { owner: owner.account.address, spender: settlement, value: amount, nonce, deadline },
  });
  const { v, r, s } = hexToSignature(signature);
  return send(pc, owner, settlement, settlementAbi as Abi, "depositWithPermit", [owner.account.address, amount, deadline, Number(v), r, s]);
}

/** Deploys the protocol and sets it up for the demo. Returns the deployment. */
export async function setUpChain(
  clients: ChainClients,
  opts: { disputeWindowSeconds: number; onStep?: (what: string) => void },
): Promise<Deployment> {
  const pc = clients.publicClient;
  const step = opts.onStep ?? (() => {});
  const deployer = clients.wallet(anvilKey(ACCOUNT_INDEX.deployer));
  const d = await deployProtocol(deployer, pc, { disputeWindowSeconds: opts.disputeWindowSeconds });
  const c = d.contracts;
  step("contracts deployed");

  const signer = privateKeyToAccount(anvilKey(ACCOUNT_INDEX.gatewaySigner)).address;
  await send(pc, deployer, c.settlement, settlementAbi as Abi, "setGatewaySigner", [GATEWAY_ID, signer]);
  for (let tier = 0; tier < 3; tier++) {
    await send(pc, deployer, c.slaCredits, slaCreditsAbi as Abi, "setPolicy", [tier, { ...DEFAULT_SLA_POLICY, minRequests: DEVNET_MIN_SLA_REQUESTS }]);
  }

  for (const [i, p] of DEMO_PROVIDERS.entries()) {
    const w = clients.wallet(anvilKey(ACCOUNT_INDEX.providers[i]!));
    await send(pc, w, c.providerRegistry, providerRegistryAbi as Abi, "register", [
      { gpuModel: p.gpuModel, gpuCount: 1, vramGb: p.vramGb, region: p.region, metadataURI: `data:,${encodeURIComponent(p.name)}` },
    ]);
    for (const m of p.models) {
      await send(pc, w, c.providerRegistry, providerRegistryAbi as Abi, "listModel", [
        modelId(m.name),
        { name: m.name, quantization: "fp16", modelHash: keccak256(toHex(m.name)), contextLength: m.contextLength },
        Number(m.promptPrice),
        Number(m.completionPrice),
      ]);
    }
    await send(pc, deployer, c.usdc, testUsdcAbi as Abi, "mint", [w.account.address, p.stake]);
    await send(pc, w, c.usdc, testUsdcAbi as Abi, "approve", [c.providerStaking, p.stake]);
    await send(pc, w, c.providerStaking, providerStakingAbi as Abi, "stake", [p.stake]);
    await send(pc, w, c.providerRegistry, providerRegistryAbi as Abi, "authorizeWorker", [privateKeyToAccount(workerKey(i)).address]);
  }
  step(`${DEMO_PROVIDERS.length} providers registered and staked`);

  const customer = clients.wallet(anvilKey(ACCOUNT_INDEX.customer));
  await send(pc, deployer, c.usdc, testUsdcAbi as Abi, "mint", [customer.account.address, CUSTOMER_MINT]);
  await depositWithPermit(pc, customer, d, CUSTOMER_DEPOSIT);
  step("customer funded");
  return d;
}

/** True if the deployment's contracts exist on this chain (a kept devnet restarted from its state). */
export async function deploymentLives(pc: PublicClient, d: Deployment): Promise<boolean> {
  const code = await pc.getCode({ address: d.contracts.settlement }).catch(() => undefined);
  return Boolean(code && code !== "0x");
}
