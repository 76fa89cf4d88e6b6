/**
 * A real local chain and a real deployment, for tests and the devnet: anvil (shipped inside the
 * @foundry-rs/anvil-linux-amd64 npm package) on a free 127.0.0.1 port, and the Tollgate contracts
 * deployed from the generated ABIs and bytecode, wired with the role table of roles.ts exactly as
 * the Ignition module (contracts/ignition/modules/protocol.ts) wires it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { defineChain, keccak256, toFunctionSelector, toHex, type Abi, type AbiFunction, type Address, type Hex, type PublicClient, type WalletClient } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import {
  accessManagerAbi,
  accessManagerBytecode,
  providerRegistryAbi,
  providerRegistryBytecode,
  providerStakingAbi,
  providerStakingBytecode,
  settlementAbi,
  settlementBytecode,
  slaCreditsAbi,
  slaCreditsBytecode,
  testUsdcAbi,
  testUsdcBytecode,
} from "./generated/abis.ts";
import type { Deployment } from "./deployments.ts";
import { modelId } from "./models.ts";
import { FUNCTION_ROLES, ROLES } from "./roles.ts";

/** anvil's well-known default accounts (the public test mnemonic). Never use them on a real network. */
export const ANVIL_KEYS: Hex[] = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
  "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

export type Anvil = { url: string; chainId: number; process: ChildProcess; stop(): Promise<void> };

function anvilPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("@foundry-rs/anvil-linux-amd64/package.json")), "bin", "anvil");
}

/** Starts anvil on 127.0.0.1 with a port the OS picks (read back from anvil's banner). */
export async function startAnvil(opts: { chainId?: number; port?: number } = {}): Promise<Anvil> {
  const chainId = opts.chainId ?? 31337;
  const child = spawn(
    anvilPath(),
    ["--host", "127.0.0.1", "--port", String(opts.port ?? 0), "--chain-id", String(chainId)],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`anvil did not start: ${text.slice(-500)}`)), 15_000);
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const m = /Listening on (127\.0\.0\.1:\d+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        child.stdout!.resume(); // keep draining so anvil never blocks on a full pipe
        resolve(`http://${m[1]}`);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (c: Buffer) => (text += c.toString()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`anvil exited with ${code}: ${text.slice(-500)}`));
    });
  });
  return {
    url,
    chainId,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}

/** A viem chain definition for a local RPC URL. */
export function localChain(url: string, chainId = 31337) {
  return defineChain({
    id: chainId,
    name: "Tollgate devnet",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [url] } },
  });
}

/** A wallet client that signs locally with a private key (every account on a local chain). */
export type Signer = WalletClient & { account: PrivateKeyAccount };

/** Sends a contract call, waits for it to be mined and fails loudly if it reverted. */
export async function sendTx(publicClient: PublicClient, from: Signer, address: Address, abi: Abi, functionName: string, args: readonly unknown[]): Promise<Hex> {
  const hash = await from.writeContract({ address, abi, functionName, args, chain: from.chain, account: from.account } as never);
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${functionName} reverted (tx ${hash})`);
  return hash;
}

function selectors(abi: Abi, names: readonly string[]): Hex[] {
  return names.map((name) => {
    const fn = abi.find((i): i is AbiFunction => i.type === "function" && i.name === name);
    if (!fn) throw new Error(`no function ${name} in ABI`);
    return toFunctionSelector(fn);
  });
}

/**
 * Deploys TestUSDC, the AccessManager and the four protocol contracts, wires FUNCTION_ROLES, and
 * grants the deployer GOVERNOR, GUARDIAN and ARBITER with no delay (local chains only) and the two
 * contracts PROTOCOL.
 */
export async function deployProtocol(
  deployer: Signer,
  publicClient: PublicClient,
  opts: { disputeWindowSeconds?: number } = {},
): Promise<Deployment> {
  const me = deployer.account.address;
  const deployBlock = Number(await publicClient.getBlockNumber());
  const deploy = async (abi: Abi, bytecode: Hex, args: unknown[]): Promise<Address> => {
    const hash = await deployer.deployContract({ abi, bytecode, args, chain: deployer.chain, account: deployer.account });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success" || !receipt.contractAddress) throw new Error("deployment reverted");
    return receipt.contractAddress;
  };
  const usdc = await deploy(testUsdcAbi, testUsdcBytecode, [me]);
  const accessManager = await deploy(accessManagerAbi, accessManagerBytecode, [me]);
  const providerRegistry = await deploy(providerRegistryAbi, providerRegistryBytecode, [accessManager]);
  const providerStaking = await deploy(providerStakingAbi, providerStakingBytecode, [usdc, providerRegistry, accessManager]);
  const settlement = await deploy(settlementAbi, settlementBytecode, [
    usdc, providerRegistry, providerStaking, accessManager, BigInt(opts.disputeWindowSeconds ?? 3 * 24 * 3600),
  ]);
  const slaCredits = await deploy(slaCreditsAbi, slaCreditsBytecode, [settlement, providerStaking, accessManager]);

  const send = (functionName: string, args: unknown[]) => sendTx(publicClient, deployer, accessManager, accessManagerAbi, functionName, args);
  const targets: Record<keyof typeof FUNCTION_ROLES, { address: Address; abi: Abi }> = {
    ProviderRegistry: { address: providerRegistry, abi: providerRegistryAbi },
    ProviderStaking: { address: providerStaking, abi: providerStakingAbi },
    Settlement: { address: settlement, abi: settlementAbi },
    SlaCredits: { address: slaCredits, abi: slaCreditsAbi },
  };
  for (const [contract, byRole] of Object.entries(FUNCTION_ROLES) as [keyof typeof FUNCTION_ROLES, Record<string, readonly string[]>][]) {
    for (const [role, names] of Object.entries(byRole)) {
      const t = targets[contract];
      await send("setTargetFunctionRole", [t.address, selectors(t.abi, names), ROLES[role as keyof typeof ROLES]]);
    }
  }
  await send("grantRole", [ROLES.GOVERNOR, me, 0]);
  await send("grantRole", [ROLES.GUARDIAN, me, 0]);
  await send("grantRole", [ROLES.ARBITER, me, 0]);
  await send("grantRole", [ROLES.PROTOCOL, settlement, 0]);
  await send("grantRole", [ROLES.PROTOCOL, slaCredits, 0]);
  return {
    chainId: await publicClient.getChainId(),
    deployBlock,
    contracts: { usdc, accessManager, providerRegistry, providerStaking, settlement, slaCredits },
  };
}

/** What a provider puts on-chain before it can serve: hardware, models at their prices, a bond, worker keys. */
export type ProviderSetup = {
  profile: { gpuModel: string; gpuCount: number; vramGb: number; region: string; metadataURI: string };
  /** Prices in USDC base units per million tokens. */
  models: readonly { name: string; promptPrice: bigint; completionPrice: bigint; contextLength: number }[];
  /** USDC base units, minted to the provider in TestUSDC and bonded. */
  stake: bigint;
  workers: readonly Address[];
};

/**
 * Registers `provider`, lists its models (fp16, model hash keccak256 of the name), mints its stake
 * from `minter` (TestUSDC's owner, so local chains only), bonds it and authorizes its worker keys,
 * one mined transaction at a time, in the order a provider does it.
 */
export async function setUpProvider(
  publicClient: PublicClient,
  minter: Signer,
  provider: Signer,
  contracts: Pick<Deployment["contracts"], "usdc" | "providerRegistry" | "providerStaking">,
  setup: ProviderSetup,
): Promise<void> {
  const { usdc, providerRegistry, providerStaking } = contracts;
  const send = (from: Signer, address: Address, abi: Abi, functionName: string, args: readonly unknown[]) => sendTx(publicClient, from, address, abi, functionName, args);
  await send(provider, providerRegistry, providerRegistryAbi, "register", [setup.profile]);
  for (const m of setup.models) {
    await send(provider, providerRegistry, providerRegistryAbi, "listModel", [
      modelId(m.name),
      { name: m.name, quantization: "fp16", modelHash: keccak256(toHex(m.name)), contextLength: m.contextLength },
      Number(m.promptPrice),
      Number(m.completionPrice),
    ]);
  }
  await send(minter, usdc, testUsdcAbi, "mint", [provider.account.address, setup.stake]);
  await send(provider, usdc, testUsdcAbi, "approve", [providerStaking, setup.stake]);
  await send(provider, providerStaking, providerStakingAbi, "stake", [setup.stake]);
  for (const w of setup.workers) await send(provider, providerRegistry, providerRegistryAbi, "authorizeWorker", [w]);
}
