/**
 * The devnet's on-chain state, built with real signed transactions: the protocol deployed, the
 * gateway signer set, a devnet SLA policy, three registered and staked demo providers with their
 * worker keys authorized, and a demo customer who deposits with an EIP-2612 permit.
 */
import { createPublicClient, createWalletClient, hexToSignature, http, type Abi, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { DEFAULT_SLA_POLICY, permitTypes, settlementAbi, slaCreditsAbi, testUsdcAbi, usdcDomain, type Deployment } from "@tollgate/protocol";
import { deployProtocol, localChain, sendTx as send, setUpProvider, type Signer } from "@tollgate/protocol/devnet";
import { ACCOUNT_INDEX, anvilKey, CUSTOMER_DEPOSIT, CUSTOMER_MINT, DEMO_PROVIDERS, DEVNET_MIN_SLA_REQUESTS, GATEWAY_ID, workerKey } from "./demo.ts";

// The devnet's public API has always offered these under these names (test/e2e uses them).
export { send, type Signer };

export type ChainClients = { publicClient: PublicClient; wallet(key: Hex): Signer };

export function chainClients(rpcUrl: string, chainId: number): ChainClients {
  const chain = localChain(rpcUrl, chainId);
  const transport = http(rpcUrl);
  return {
    publicClient: createPublicClient({ chain, transport, pollingInterval: 50 }) as PublicClient,
    wallet: (key) => createWalletClient({ chain, transport, account: privateKeyToAccount(key) }) as Signer,
  };
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
    await setUpProvider(pc, deployer, clients.wallet(anvilKey(ACCOUNT_INDEX.providers[i]!)), c, {
      profile: { gpuModel: p.gpuModel, gpuCount: 1, vramGb: p.vramGb, region: p.region, metadataURI: `data:,${encodeURIComponent(p.name)}` },
      models: p.models,
      stake: p.stake,
      workers: [privateKeyToAccount(workerKey(i)).address],
    });
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
