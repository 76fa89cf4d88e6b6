#!/usr/bin/env node
/**
 * The devnet faucet: test USDC and gas ETH for any address, so a wallet of your own (MetaMask, a new
 * provider account) can top up, stake and pay gas on the devnet. Only a devnet can do this: TestUSDC
 * mints for its owner (the devnet's deployer, whose anvil key is in devnet.json), and the ETH comes
 * from anvil's `anvil_setBalance`.
 *
 *   npm run faucet -w devnet -- <address> [usdc]     (default 1000 USDC and 10 ETH)
 *   options: --manifest FILE (default: devnet.json at the repository root)
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { formatEther, getAddress, isAddress, parseEther, type Abi, type Address } from "viem";
import { formatUsdc, parseUsdc, testUsdcAbi } from "@tollgate/protocol";
import { chainClients, send } from "./chain-setup.ts";
import { readManifest, type DevnetManifest } from "./manifest.ts";
import { REPO_ROOT } from "./options.ts";

export const FAUCET_ETH = parseEther("10");
export const FAUCET_USDC = 1_000_000_000n; // 1,000 USDC: enough to stake the 100 USDC minimum and top up escrow

/** Mints `usdc` test USDC to `to` and sets its ETH balance to at least 10 ETH. Returns the new balances. */
export async function fund(m: DevnetManifest, to: Address, usdc: bigint = FAUCET_USDC): Promise<{ usdc: bigint; eth: bigint }> {
  const { publicClient, wallet } = chainClients(m.rpcUrl, m.chainId);
  const token = m.deployment.contracts.usdc;
  await send(publicClient, wallet(m.accounts.deployer.privateKey), token, testUsdcAbi as Abi, "mint", [to, usdc]);
  const eth = await publicClient.getBalance({ address: to });
  if (eth < FAUCET_ETH) await publicClient.request({ method: "anvil_setBalance" as never, params: [to, `0x${FAUCET_ETH.toString(16)}`] as never });
  const balance = (await publicClient.readContract({ address: token, abi: testUsdcAbi, functionName: "balanceOf", args: [to] })) as bigint;
  return { usdc: balance, eth: await publicClient.getBalance({ address: to }) };
}

/** 1000000000n → "1000.00", 12345n → "0.012345". */
const usdcText = (units: bigint) => formatUsdc(units).replace(/(\.\d\d\d*?)0+$/, "$1");

function fail(message: string): never {
  process.stderr.write(`tollgate-faucet: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: { manifest: { type: "string" }, help: { type: "boolean", short: "h" } } });
  } catch (err) {
    fail(`${(err as Error).message} (usage: npm run faucet -w devnet -- <address> [usdc])`);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    process.stdout.write("usage: npm run faucet -w devnet -- <address> [usdc]   test USDC (default 1000) and 10 ETH on the running devnet\n");
    process.exit(values.help ? 0 : 2);
  }
  const [who, amountArg] = positionals;
  if (!isAddress(who!, { strict: false })) fail(`"${who}" is not an address (0x followed by 40 hex digits)`);
  let amount = FAUCET_USDC;
  if (amountArg !== undefined) {
    try {
      amount = parseUsdc(amountArg);
    } catch {
      fail(`"${amountArg}" is not a USDC amount (e.g. 250 or 12.5)`);
    }
    if (amount <= 0n) fail("the amount must be more than 0 USDC");
  }
  const manifestPath = resolve(process.env.INIT_CWD ?? process.cwd(), values.manifest ?? join(REPO_ROOT, "devnet.json"));
  let m: DevnetManifest;
  try {
    m = readManifest(manifestPath);
  } catch {
    fail(`no devnet manifest at ${manifestPath}: start the devnet first (npm start), or pass --manifest`);
  }
  const to = getAddress(who!);
  try {
    const b = await fund(m, to, amount);
    process.stdout.write(`sent ${usdcText(amount)} test USDC to ${to} on the devnet (chain ${m.chainId}); it now holds ${usdcText(b.usdc)} USDC and ${formatEther(b.eth)} ETH\n`);
  } catch (err) {
    const msg = (err as { shortMessage?: string }).shortMessage ?? (err as Error).message;
    fail(`could not fund ${to} through ${m.rpcUrl}: ${msg} (is the devnet of ${manifestPath} still running?)`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
