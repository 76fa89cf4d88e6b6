/**
 * A real local chain for gateway tests: anvil (from the @foundry-rs/anvil-linux-amd64 npm package)
 * on a free 127.0.0.1 port, and the real contracts deployed with viem from the generated ABIs and
 * bytecode, wired with the role table of contracts/ts/roles.ts exactly as the Ignition module does.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  keccak256,
  toFunctionSelector,
  toHex,
  type Abi,
  type AbiFunction,
  type Address,
  type Hex,
  type PublicClient,
  type WalletClient,
} from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import {
  FUNCTION_ROLES,
  ROLES,
  accessManagerAbi,
  accessManagerBytecode,
  modelId,
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
} from "@tollgate/protocol";

/** anvil's well-known default accounts (test mnemonic). 0 deploys and holds every role. */
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

export type Chain = {
  url: string;
  chainId: number;
  process: ChildProcess;
  publicClient: PublicClient;
  wallet(key: Hex): WalletClient & { account: PrivateKeyAccount };
  stop(): Promise<void>;
};

function anvilPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("@foundry-rs/anvil-linux-amd64/package.json")), "bin", "anvil");
}

export async function startChain(chainId = 31337): Promise<Chain> {
  const proc = spawn(anvilPath(), ["--host", "127.0.0.1", "--port", "0", "--chain-id", String(chainId)], { stdio: ["ignore", "pipe", "pipe"] });
  const url = await new Promise<string>((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`anvil did not start: ${text.slice(-500)}`)), 15_000);
    const onData = (c: Buffer) => {
      text += c.toString();
      const m = /Listening on (127\.0\.0\.1:\d+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        proc.stdout!.off("data", onData);
        proc.stdout!.resume();
        resolve(`http://${m[1]}`);
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", (c: Buffer) => (text += c.toString()));
    proc.once("exit", (code) => reject(new Error(`anvil exited with ${code}: ${text.slice(-500)}`)));
  });
  const chain = defineChain({ id: chainId, name: "anvil", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [url] } } });
  const transport = http(url);
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 50 }) as PublicClient;
  return {
    url,
    chainId,
    process: proc,
    publicClient,
    wallet: (key) => createWalletClient({ chain, transport, account: privateKeyToAccount(key) }) as WalletClient & { account: PrivateKeyAccount },
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once("exit", () => resolve());
        proc.kill("SIGKILL");
      }),
  };
}

export type Contracts = { usdc: Address; accessManager: Address; registry: Address; staking: Address; settlement: Address; slaCredits: Address; deployBlock: number };

/** Deploys TestUSDC and the protocol; the deployer is admin, governor (no delay), guardian and arbiter. */
export async function deployProtocol(deployer: WalletClient & { account: PrivateKeyAccount }, publicClient: PublicClient, opts: { disputeWindowSeconds?: number } = {}): Promise<Contracts> {
  const me = deployer.account.address;
  const deployBlock = Number(await publicClient.getBlockNumber());
  const deploy = async (abi: Abi, bytecode: Hex, args: unknown[]): Promise<Address> => {
    const hash = await deployer.deployContract({ abi, bytecode, args, chain: deployer.chain, account: deployer.account });
    const r = await publicClient.waitForTransactionReceipt({ hash });
    return r.contractAddress!;
  };
  const usdc = await deploy(testUsdcAbi as Abi, testUsdcBytecode as Hex, [me]);
  const accessManager = await deploy(accessManagerAbi as Abi, accessManagerBytecode as Hex, [me]);
  const registry = await deploy(providerRegistryAbi as Abi, providerRegistryBytecode as Hex, [accessManager]);
  const staking = await deploy(providerStakingAbi as Abi, providerStakingBytecode as Hex, [usdc, registry, accessManager]);
  const settlement = await deploy(settlementAbi as Abi, settlementBytecode as Hex, [usdc, registry, staking, accessManager, BigInt(opts.disputeWindowSeconds ?? 3600)]);
  const slaCredits = await deploy(slaCreditsAbi as Abi, slaCreditsBytecode as Hex, [settlement, staking, accessManager]);
  const targets: Record<keyof typeof FUNCTION_ROLES, { address: Address; abi: Abi }> = {
    ProviderRegistry: { address: registry, abi: providerRegistryAbi as Abi },
    ProviderStaking: { address: staking, abi: providerStakingAbi as Abi },
    Settlement: { address: settlement, abi: settlementAbi as Abi },
    SlaCredits: { address: slaCredits, abi: slaCreditsAbi as Abi },
  };
  const send = async (functionName: string, args: unknown[]) => {
    const hash = await deployer.writeContract({ address: accessManager, abi: accessManagerAbi as Abi, functionName, args, chain: deployer.chain, account: deployer.account });
    await publicClient.waitForTransactionReceipt({ hash });
  };
  for (const [contract, byRole] of Object.entries(FUNCTION_ROLES) as [keyof typeof FUNCTION_ROLES, Record<string, readonly string[]>][]) {
    for (const [role, names] of Object.entries(byRole)) {
      const t = targets[contract];
      const selectors = names.map((n) => {
        const fn = t.abi.find((i): i is AbiFunction => i.type === "function" && i.name === n);
        if (!fn) throw new Error(`no function ${n} in ${contract}`);
        return toFunctionSelector(fn);
      });
      await send("setTargetFunctionRole", [t.address, selectors, ROLES[role as keyof typeof ROLES]]);
    }
  }
  await send("grantRole", [ROLES.GOVERNOR, me, 0]);
  await send("grantRole", [ROLES.GUARDIAN, me, 0]);
  await send("grantRole", [ROLES.ARBITER, me, 0]);
  await send("grantRole", [ROLES.PROTOCOL, settlement, 0]);
  await send("grantRole", [ROLES.PROTOCOL, slaCredits, 0]);
  return { usdc, accessManager, registry, staking, settlement, slaCredits, deployBlock };
}

async function write(w: WalletClient & { account: PrivateKeyAccount }, pc: PublicClient, address: Address, abi: unknown, functionName: string, args: unknown[]) {
  const hash = await w.writeContract({ address, abi: abi as Abi, functionName, args, chain: w.chain, account: w.account });
  const r = await pc.waitForTransactionReceipt({ hash });
  if (r.status !== "success") throw new Error(`${functionName} reverted`);
}

/** A provider: registered, model(s) listed at a price, staked, worker keys authorized. */
export async function setupProvider(
  c: Contracts,
  deployer: WalletClient & { account: PrivateKeyAccount },
  provider: WalletClient & { account: PrivateKeyAccount },
  pc: PublicClient,
  opts: { models: { name: string; promptPrice: bigint; completionPrice: bigint; contextLength?: number }[]; workers: Address[]; stake?: bigint },
): Promise<void> {
  const stake = opts.stake ?? 1_000_000_000n;
  await write(provider, pc, c.registry, providerRegistryAbi, "register", [{ gpuModel: "SIM", gpuCount: 1, vramGb: 80, region: "local", metadataURI: "ipfs://sim" }]);
  for (const m of opts.models) {
    await write(provider, pc, c.registry, providerRegistryAbi, "listModel", [
      modelId(m.name),
      { name: m.name, quantization: "fp16", modelHash: keccak256(toHex(m.name)), contextLength: m.contextLength ?? 8192 },
      Number(m.promptPrice),
      Number(m.completionPrice),
    ]);
  }
  await write(deployer, pc, c.usdc, testUsdcAbi, "mint", [provider.account.address, stake]);
  await write(provider, pc, c.usdc, testUsdcAbi, "approve", [c.staking, stake]);
  await write(provider, pc, c.staking, providerStakingAbi, "stake", [stake]);
  for (const w of opts.workers) await write(provider, pc, c.registry, providerRegistryAbi, "authorizeWorker", [w]);
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
