/**
 * What each `tollgate-provider` subcommand does on-chain, and what it tells the provider: what
 * happened, the transaction, and what to do next. Amounts are shown in USDC, times in UTC with a
 * countdown measured on the chain's clock.
 */
import { erc20Abi, parseEventLogs, type Address, type Hex } from "viem";
import { providerRegistryAbi, providerStakingAbi, settlementAbi } from "@tollgate/protocol/generated/abis";
import { chainNow, send, type Out, type Signer } from "./chain.ts";
import { completeProfile, InputError, type HardwareProfile, type ModelListing, type ProfileInput } from "./config.ts";
import { TxError } from "./errors.ts";
import { pricePerMillion, usdc, usdcArg, when } from "./format.ts";

const CLI = "tollgate-provider";
/** Anvil's chain id: the devnet, where `npm run faucet -w devnet` hands out test USDC. */
const DEVNET_CHAIN_ID = 31337;

function registry(s: Signer) {
  return { address: s.deployment.contracts.providerRegistry, abi: providerRegistryAbi } as const;
}
function staking(s: Signer) {
  return { address: s.deployment.contracts.providerStaking, abi: providerStakingAbi } as const;
}
function settlement(s: Signer) {
  return { address: s.deployment.contracts.settlement, abi: settlementAbi } as const;
}
const me = (s: Signer): Address => s.account.address;

async function isRegistered(s: Signer): Promise<boolean> {
  return s.publicClient.readContract({ ...registry(s), functionName: "isRegistered", args: [me(s)] });
}

async function requireRegistered(s: Signer): Promise<void> {
  if (!(await isRegistered(s))) {
    throw new TxError(`${me(s)} is not a registered provider: run \`${CLI} register --gpu-model … --gpu-count … --vram-gb …\` first`);
  }
}

async function profileOf(s: Signer): Promise<HardwareProfile> {
  const p = await s.publicClient.readContract({ ...registry(s), functionName: "profileOf", args: [me(s)] });
  return { gpuModel: p.gpuModel, gpuCount: Number(p.gpuCount), vramGb: Number(p.vramGb), region: p.region, metadataURI: p.metadataURI };
}

function describeProfile(p: HardwareProfile): string {
  return `${p.gpuCount} × ${p.gpuModel}, ${p.vramGb} GB VRAM${p.region ? `, region ${p.region}` : ""}${p.metadataURI ? `, metadata ${p.metadataURI}` : ""}`;
}

const sameProfile = (a: HardwareProfile, b: HardwareProfile) =>
  a.gpuModel === b.gpuModel && a.gpuCount === b.gpuCount && a.vramGb === b.vramGb && a.region === b.region && a.metadataURI === b.metadataURI;

const hasProfileFlags = (p: ProfileInput) => Object.values(p).some((v) => v !== undefined);

// ------------------------------------------------------------------ profile and models

export async function register(s: Signer, input: ProfileInput, models: ModelListing[], out: Out): Promise<void> {
  if (!(await isRegistered(s))) {
    const profile = completeProfile(input);
    await send(s, `register ${me(s)} as a provider (${describeProfile(profile)})`, { ...registry(s), functionName: "register", args: [profile] }, out);
    out(`registered ${me(s)}`);
  } else if (hasProfileFlags(input)) {
    const current = await profileOf(s);
    const profile = completeProfile(input, current);
    if (sameProfile(profile, current)) out(`${me(s)} is already registered; hardware profile unchanged`);
    else {
      await send(s, `update hardware profile to ${describeProfile(profile)}`, { ...registry(s), functionName: "updateProfile", args: [profile] }, out);
      out(`${me(s)} was already registered; hardware profile updated`);
    }
  } else {
    out(`${me(s)} is already registered`);
  }
  for (const m of models) await applyListing(s, m, out);
  await nextAfterRegister(s, models.length > 0, out);
}

async function nextAfterRegister(s: Signer, hasModels: boolean, out: Out): Promise<void> {
  const [[bonded], minStake] = await Promise.all([
    s.publicClient.readContract({ ...staking(s), functionName: "stakeOf", args: [me(s)] }),
    s.publicClient.readContract({ ...staking(s), functionName: "minStake" }),
  ]);
  const next: string[] = [];
  if (!hasModels) next.push(`list the models you serve: ${CLI} list-model --model llama-3.1-8b-instruct:0.20:0.60`);
  if (bonded < minStake) next.push(`stake at least ${usdc(minStake - bonded)} to be routable: ${CLI} stake ${usdcArg(minStake - bonded)}`);
  next.push(`authorize your worker's key: ${CLI} authorize-worker <worker address> (create one with \`tollgate-worker keygen\`)`);
  out(`next: ${next.join("\n      ")}`);
}

/** Lists a model, or when it is listed at other prices, schedules the new ones. */
async function applyListing(s: Signer, m: ModelListing, out: Out): Promise<void> {
  const rec = await s.publicClient.readContract({ ...registry(s), functionName: "priceRecord", args: [me(s), m.id] });
  const prices = `${pricePerMillion(m.promptPrice)} prompt, ${pricePerMillion(m.completionPrice)} completion`;
  if (!rec.listed || rec.delistPending) {
    await listModel(s, m, out);
    return;
  }
  const pending = rec.nextEffectiveAt !== 0;
  const finalPrompt = BigInt(pending ? rec.nextPromptPrice : rec.promptPrice);
  const finalCompletion = BigInt(pending ? rec.nextCompletionPrice : rec.completionPrice);
  const now = await chainNow(s);
  if (finalPrompt === m.promptPrice && finalCompletion === m.completionPrice) {
    if (pending && BigInt(rec.nextEffectiveAt) > now) out(`${m.name}: ${prices} is already scheduled for ${when(rec.nextEffectiveAt, now)}`);
    else out(`${m.name}: already listed at ${prices}; unchanged`);
  } else {
    await setPrice(s, m, out);
  }
  const info = await s.publicClient.readContract({ ...registry(s), functionName: "modelInfo", args: [me(s), m.id] });
  const differs =
    (m.quantization !== "" && info.quantization !== m.quantization) ||
    (m.contextLength !== 0 && info.contextLength !== m.contextLength) ||
    (!/^0x0+$/.test(m.modelHash) && info.modelHash.toLowerCase() !== m.modelHash);
  if (differs) {
    out(`  note: ${m.name}'s quantization, context length or model hash differ from the listing; the registry keeps them as listed (delist and list again to change them)`);
  }
}

export async function listModel(s: Signer, m: ModelListing, out: Out): Promise<void> {
  await requireRegistered(s);
  const prices = `${pricePerMillion(m.promptPrice)} prompt, ${pricePerMillion(m.completionPrice)} completion`;
  const info = { name: m.name, quantization: m.quantization, modelHash: m.modelHash, contextLength: m.contextLength };
  await send(s, `list ${m.name} at ${prices}`, { ...registry(s), functionName: "listModel", args: [m.id, info, m.promptPrice, m.completionPrice] }, out);
  out(`${m.name}: listed at ${prices}, in force now${m.quantization ? ` (${m.quantization}` + (m.contextLength ? `, ${m.contextLength} tokens context)` : ")") : ""}`);
}

export async function setPrice(s: Signer, m: Pick<ModelListing, "name" | "id" | "promptPrice" | "completionPrice">, out: Out): Promise<void> {
  await requireRegistered(s);
  const prices = `${pricePerMillion(m.promptPrice)} prompt, ${pricePerMillion(m.completionPrice)} completion`;
  const { receipt } = await send(s, `schedule ${m.name} at ${prices}`, { ...registry(s), functionName: "schedulePriceChange", args: [m.id, m.promptPrice, m.completionPrice] }, out);
  const [ev] = parseEventLogs({ abi: providerRegistryAbi, logs: receipt.logs, eventName: "PriceChangeScheduled" });
  const now = await chainNow(s);
  const current = await s.publicClient.readContract({ ...registry(s), functionName: "priceInForce", args: [me(s), m.id] });
  out(`${m.name}: price change to ${prices} takes effect at ${ev ? when(ev.args.effectiveAt, now) : "after the notice period"}`);
  out(`  until then ${pricePerMillion(BigInt(current[0]))} prompt, ${pricePerMillion(BigInt(current[1]))} completion stays in force (customers get notice of every change)`);
}

export async function delist(s: Signer, m: { name: string; id: Hex }, out: Out): Promise<void> {
  await requireRegistered(s);
  const { receipt } = await send(s, `delist ${m.name}`, { ...registry(s), functionName: "delistModel", args: [m.id] }, out);
  const [ev] = parseEventLogs({ abi: providerRegistryAbi, logs: receipt.logs, eventName: "ModelDelistScheduled" });
  const now = await chainNow(s);
  out(`${m.name}: delisting takes effect at ${ev ? when(ev.args.effectiveAt, now) : "after the notice period"}; until then keep serving it at the listed price`);
  out(`next: stop serving ${m.name} in your workers after that time (remove it from --models)`);
}

export async function updateProfile(s: Signer, input: ProfileInput, out: Out): Promise<void> {
  await requireRegistered(s);
  if (!hasProfileFlags(input)) throw new InputError("nothing to update: give at least one of --gpu-model, --gpu-count, --vram-gb, --region, --metadata-uri");
  const current = await profileOf(s);
  const profile = completeProfile(input, current);
  if (sameProfile(profile, current)) {
    out(`hardware profile unchanged (${describeProfile(current)}); nothing sent`);
    return;
  }
  await send(s, `update hardware profile to ${describeProfile(profile)}`, { ...registry(s), functionName: "updateProfile", args: [profile] }, out);
  out(`hardware profile updated: ${describeProfile(profile)}`);
}

// ------------------------------------------------------------------ workers

export async function authorizeWorker(s: Signer, worker: Address, out: Out): Promise<void> {
  await send(s, `authorize worker ${worker}`, { ...registry(s), functionName: "authorizeWorker", args: [worker] }, out);
  out(`worker ${worker} may now register with gateways for ${me(s)}`);
  out(`next: start it with --provider ${me(s)} --registry ${s.deployment.contracts.providerRegistry} --chain-id ${s.deployment.chainId} (see worker/README.md)`);
}

export async function revokeWorker(s: Signer, worker: Address, out: Out): Promise<void> {
  await send(s, `revoke worker ${worker}`, { ...registry(s), functionName: "revokeWorker", args: [worker] }, out);
  out(`worker ${worker} is revoked; gateways drop it when they see the event and it cannot register again`);
  out(`next: stop that worker process; authorize a new key with \`${CLI} authorize-worker <address>\` if you replace it`);
}

// ------------------------------------------------------------------ stake

async function stakeLine(s: Signer, out: Out): Promise<{ bonded: bigint; minStake: bigint }> {
  const [[bonded, unbonding, unlockAt, jailed], minStake] = await Promise.all([
    s.publicClient.readContract({ ...staking(s), functionName: "stakeOf", args: [me(s)] }),
    s.publicClient.readContract({ ...staking(s), functionName: "minStake" }),
  ]);
  const now = await chainNow(s);
  out(`stake: ${usdc(bonded)} bonded${unbonding > 0n ? `, ${usdc(unbonding)} unbonding (unlocks ${when(unlockAt, now)})` : ""}${jailed ? ", JAILED" : ""}`);
  if (jailed) out(`  you are jailed: bring bonded stake to ${usdc(minStake)} and run \`${CLI} unjail\``);
  else if (bonded < minStake) out(`  below the minimum ${usdc(minStake)}: not routable until you stake ${usdc(minStake - bonded)} more`);
  else out(`  at or above the minimum ${usdc(minStake)}: routable`);
  return { bonded, minStake };
}

export async function stake(s: Signer, amount: bigint, out: Out): Promise<void> {
  await requireRegistered(s);
  const token = s.deployment.contracts.usdc;
  const spender = s.deployment.contracts.providerStaking;
  const [balance, allowance] = await Promise.all([
    s.publicClient.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [me(s)] }),
    s.publicClient.readContract({ address: token, abi: erc20Abi, functionName: "allowance", args: [me(s), spender] }),
  ]);
  if (balance < amount) {
    const where = s.deployment.chainId === DEVNET_CHAIN_ID ? ` (devnet: \`npm run faucet -w devnet -- ${me(s)}\`)` : "";
    throw new TxError(`stake ${usdc(amount)}: your USDC balance is ${usdc(balance)}; get ${usdc(amount - balance)} more on this chain first${where}`);
  }
  if (allowance < amount) {
    await send(s, `approve ${usdc(amount)} for the staking contract`, { address: token, abi: erc20Abi, functionName: "approve", args: [spender, amount] }, out);
  } else {
    out(`the staking contract may already spend ${usdc(allowance)}; no approval needed`);
  }
  await send(s, `stake ${usdc(amount)}`, { ...staking(s), functionName: "stake", args: [amount] }, out);
  out(`staked ${usdc(amount)}`);
  const { bonded, minStake } = await stakeLine(s, out);
  if (bonded >= minStake) out(`next: run a worker whose key you authorized (\`${CLI} authorize-worker <address>\`, once per key); see \`${CLI} status\``);
  else out(`next: \`${CLI} stake ${usdcArg(minStake - bonded)}\``);
}

export async function unbond(s: Signer, amount: bigint, out: Out): Promise<void> {
  const { receipt } = await send(s, `unbond ${usdc(amount)}`, { ...staking(s), functionName: "unbond", args: [amount] }, out);
  const [ev] = parseEventLogs({ abi: providerStakingAbi, logs: receipt.logs, eventName: "UnbondStarted" });
  const now = await chainNow(s);
  out(`unbonding ${usdc(amount)}; it stays slashable until it unlocks`);
  await stakeLine(s, out);
  if (ev) out(`next: after ${when(ev.args.unlockAt, now)} run \`${CLI} withdraw\` (or \`${CLI} rebond <usdc>\` to change your mind)`);
}

export async function rebond(s: Signer, amount: bigint, out: Out): Promise<void> {
  await send(s, `rebond ${usdc(amount)}`, { ...staking(s), functionName: "rebond", args: [amount] }, out);
  out(`rebonded ${usdc(amount)}`);
  await stakeLine(s, out);
}

export async function withdraw(s: Signer, out: Out): Promise<void> {
  const { receipt } = await send(s, "withdraw unlocked stake", { ...staking(s), functionName: "withdraw", args: [] }, out);
  const [ev] = parseEventLogs({ abi: providerStakingAbi, logs: receipt.logs, eventName: "StakeWithdrawn" });
  out(`withdrew ${ev ? usdc(ev.args.amount) : "your unlocked stake"} to ${me(s)}`);
  await stakeLine(s, out);
}

export async function unjail(s: Signer, out: Out): Promise<void> {
  await send(s, "unjail", { ...staking(s), functionName: "unjail", args: [] }, out);
  out("you are out of jail; gateways route to you again once your workers are healthy");
  await stakeLine(s, out);
}

// ------------------------------------------------------------------ earnings

export async function claim(s: Signer, out: Out): Promise<void> {
  const { receipt } = await send(s, "claim vested earnings", { ...settlement(s), functionName: "claim", args: [] }, out);
  const [ev] = parseEventLogs({ abi: settlementAbi, logs: receipt.logs, eventName: "EarningsClaimed" });
  out(`claimed ${ev ? usdc(ev.args.amount) : "your vested earnings"} to ${me(s)}`);
  const [, vesting, nextVestAt] = await s.publicClient.readContract({ ...settlement(s), functionName: "earningsOf", args: [me(s)] });
  if (vesting > 0n) out(`next: ${usdc(vesting)} still vesting; the next part vests ${when(nextVestAt, await chainNow(s))}`);
  else out("next: nothing else is vesting; new earnings vest one to two dispute windows after they settle");
}
