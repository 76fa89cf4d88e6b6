/**
 * A real local chain for tests: anvil from the @foundry-rs/anvil-linux-amd64 package on a free
 * 127.0.0.1 port, and the real Tollgate contracts deployed from the generated ABIs and bytecode with
 * the AccessManager wired exactly as the Ignition module wires it (contracts/ts/roles.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  http,
  toFunctionSelector,
  type Abi,
  type AbiFunction,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { FUNCTION_ROLES, ROLES } from "@tollgate/protocol/roles";
import type { Deployment } from "@tollgate/protocol/deployments";
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
} from "@tollgate/protocol/generated/abis";

/** anvil's first default account (the well-known test mnemonic): the deployer, holding every role. */
export const DEPLOYER_KEY: Hex = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

export type Anvil = { url: string; chainId: number; process: ChildProcess; stop(): Promise<void> };

export function anvilPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("@foundry-rs/anvil-linux-amd64/package.json")), "bin", "anvil");
}

/** Starts anvil on a free port (port 0; the port is read from its banner), 127.0.0.1 only. */
export async function startAnvil(chainId = 31337): Promise<Anvil> {
  const child = spawn(anvilPath(), ["--host", "127.0.0.1", "--port", "0", "--chain-id", String(chainId)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`anvil did not start: ${text.slice(-500)}`)), 15_000);
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const m = /Listening on (127\.0\.0\.1:\d+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        child.stdout!.resume(); // keep draining
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
        child.kill("SIGTERM");
      }),
  };
}

export function devChain(url: string, chainId = 31337) {
  return defineChain({
    id: chainId,
    name: "test",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [url] } },
  });
}

function selectors(abi: Abi, names: readonly string[]): Hex[] {
  return names.map((name) => {
    const fn = abi.find((i): i is AbiFunction => i.type === "function" && i.name === name);
    if (!fn) throw new Error(`no function ${name} in ABI`);
    return toFunctionSelector(fn);
  });
}

export type Deployed = {
  deployment: Deployment;
  deployer: PrivateKeyAccount;
  publicClient: PublicClient;
  /** Deployer-signed write, waited for; throws when it reverts. */
  write(address: Address, abi: Abi, functionName: string, args: readonly unknown[]): Promise<Hex>;
  /** Sets an account's ETH balance (anvil). */
  fund(address: Address, ether?: bigint): Promise<void>;
  /** Moves the chain's clock forward and mines a block. */
  increaseTime(seconds: number): Promise<void>;
};

/**
 * Deploys TestUSDC, the AccessManager and the four protocol contracts, wires FUNCTION_ROLES and
 * grants the deployer GOVERNOR, GUARDIAN and ARBITER (zero delay) and the contracts PROTOCOL,
 * as contracts/ignition/modules/protocol.ts does.
 */
export async function deployTollgate(url: string, opts: { chainId?: number; disputeWindow?: bigint } = {}): Promise<Deployed> {
  const chain = devChain(url, opts.chainId);
  const deployer = privateKeyToAccount(DEPLOYER_KEY);
  const publicClient = createPublicClient({ chain, transport: http(url) }) as PublicClient;
  const wallet = createWalletClient({ account: deployer, chain, transport: http(url) });
  const test = createTestClient({ chain, mode: "anvil", transport: http(url) });
  const deployBlock = await publicClient.getBlockNumber();

  const deploy = async (abi: Abi, bytecode: Hex, args: readonly unknown[]): Promise<Address> => {
    const hash = await wallet.deployContract({ abi, bytecode, args } as never);
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success" || !receipt.contractAddress) throw new Error("deployment reverted");
    return receipt.contractAddress;
  };
  const write = async (address: Address, abi: Abi, functionName: string, args: readonly unknown[]): Promise<Hex> => {
    const { request } = await publicClient.simulateContract({ account: deployer, address, abi, functionName, args } as never);
    const hash = await wallet.writeContract(request as never);
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`${functionName} reverted`);
    return hash;
  };

  const usdc = await deploy(testUsdcAbi, testUsdcBytecode, [deployer.address]);
  const manager = await deploy(accessManagerAbi, accessManagerBytecode, [deployer.address]);
  const registry = await deploy(providerRegistryAbi, providerRegistryBytecode, [manager]);
  const staking = await deploy(providerStakingAbi, providerStakingBytecode, [usdc, registry, manager]);
  const settlement = await deploy(settlementAbi, settlementBytecode, [usdc, registry, staking, manager, opts.disputeWindow ?? 3n * 24n * 3600n]);
  const slaCredits = await deploy(slaCreditsAbi, slaCreditsBytecode, [settlement, staking, manager]);

  const targets: Record<keyof typeof FUNCTION_ROLES, { address: Address; abi: Abi }> = {
    ProviderRegistry: { address: registry, abi: providerRegistryAbi },
    ProviderStaking: { address: staking, abi: providerStakingAbi },
    Settlement: { address: settlement, abi: settlementAbi },
    SlaCredits: { address: slaCredits, abi: slaCreditsAbi },
  };
  for (const [contract, byRole] of Object.entries(FUNCTION_ROLES) as [keyof typeof FUNCTION_ROLES, Record<string, readonly string[]>][]) {
    for (const [role, names] of Object.entries(byRole)) {
      const t = targets[contract];
      await write(manager, accessManagerAbi, "setTargetFunctionRole", [t.address, selectors(t.abi, names), ROLES[role as keyof typeof ROLES]]);
    }
  }
  await write(manager, accessManagerAbi, "grantRole", [ROLES.GOVERNOR, deployer.address, 0]);
  await write(manager, accessManagerAbi, "grantRole", [ROLES.GUARDIAN, deployer.address, 0]);
  await write(manager, accessManagerAbi, "grantRole", [ROLES.ARBITER, deployer.address, 0]);
  await write(manager, accessManagerAbi, "grantRole", [ROLES.PROTOCOL, settlement, 0]);
  await write(manager, accessManagerAbi, "grantRole", [ROLES.PROTOCOL, slaCredits, 0]);

  const deployment: Deployment = {
    chainId: chain.id,
    deployBlock: Number(deployBlock),
    contracts: { usdc, accessManager: manager, providerRegistry: registry, providerStaking: staking, settlement, slaCredits },
  };
  return {
    deployment,
    deployer,
    publicClient,
    write,
    fund: async (address, ether = 10n ** 20n) => {
      await test.setBalance({ address, value: ether });
    },
    increaseTime: async (seconds) => {
      await test.increaseTime({ seconds });
      await test.mine({ blocks: 1 });
    },
  };
}
