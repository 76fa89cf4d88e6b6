/**
 * `tollgate-provider status`: one screen on a provider's standing, read from the contracts and, for
 * history (models, workers, SLA credits and slashes), from their event logs since the deployment block.
 */
import { erc20Abi, type AbiEvent, type Address, type Hex, type Log } from "viem";
import { providerRegistryAbi, providerStakingAbi, settlementAbi, slaCreditsAbi } from "@tollgate/protocol/generated/abis";
import type { Chain_, Out } from "./chain.ts";
import { pricePerMillion, usdc, usdcArg, utc, when } from "./format.ts";

const CLI = "tollgate-provider";

function eventOf(abi: readonly unknown[], name: string): AbiEvent {
  const e = (abi as AbiEvent[]).find((i) => i.type === "event" && i.name === name);
  if (!e) throw new Error(`no event ${name} in ABI`);
  return e;
}

/**
 * getLogs from the deployment block to `toBlock`, splitting the range when the RPC refuses one
 * that is too large (public Base endpoints cap the block range or the result size).
 */
async function logsOf(
  c: Chain_,
  address: Address,
  event: AbiEvent,
  args: Record<string, unknown>,
  toBlock: bigint,
): Promise<Log[]> {
  const fetchRange = async (from: bigint, to: bigint): Promise<Log[]> => {
    try {
      return (await c.publicClient.getLogs({ address, event, args, fromBlock: from, toBlock: to, strict: true } as never)) as Log[];
    } catch (err) {
      if (to - from < 500n) throw err;
      const mid = from + (to - from) / 2n;
      return [...(await fetchRange(from, mid)), ...(await fetchRange(mid + 1n, to))];
    }
  };
  const from = BigInt(c.deployment.deployBlock);
  if (toBlock < from) return [];
  return fetchRange(from, toBlock);
}

const byPosition = (a: Log, b: Log) =>
  a.blockNumber === b.blockNumber ? Number(a.logIndex! - b.logIndex!) : a.blockNumber! < b.blockNumber! ? -1 : 1;

export async function status(c: Chain_, provider: Address, out: Out): Promise<void> {
  const { contracts } = c.deployment;
  const reg = { address: contracts.providerRegistry, abi: providerRegistryAbi } as const;
  const stk = { address: contracts.providerStaking, abi: providerStakingAbi } as const;
  const stl = { address: contracts.settlement, abi: settlementAbi } as const;
  const head = await c.publicClient.getBlock({ blockTag: "latest" });
  const now = head.timestamp;
  const blockNumber = head.number;

  const [registered, profile, stakeOf, minStake, withdrawable, active, earnings, balance] = await Promise.all([
    c.publicClient.readContract({ ...reg, functionName: "isRegistered", args: [provider], blockNumber }),
    c.publicClient.readContract({ ...reg, functionName: "profileOf", args: [provider], blockNumber }),
    c.publicClient.readContract({ ...stk, functionName: "stakeOf", args: [provider], blockNumber }),
    c.publicClient.readContract({ ...stk, functionName: "minStake", blockNumber }),
    c.publicClient.readContract({ ...stk, functionName: "withdrawable", args: [provider], blockNumber }),
    c.publicClient.readContract({ ...stk, functionName: "isActive", args: [provider], blockNumber }),
    c.publicClient.readContract({ ...stl, functionName: "earningsOf", args: [provider], blockNumber }),
    c.publicClient.readContract({ address: contracts.usdc, abi: erc20Abi, functionName: "balanceOf", args: [provider], blockNumber }),
  ]);

  out(`provider ${provider} on chain ${c.deployment.chainId}, block ${blockNumber} (${utc(now)})`);
  if (!registered) {
    out("not registered");
    out(`next: ${CLI} register --gpu-model … --gpu-count … --vram-gb … --model name:prompt:completion`);
    return;
  }
  out(`hardware: ${profile.gpuCount} × ${profile.gpuModel}, ${profile.vramGb} GB VRAM${profile.region ? `, region ${profile.region}` : ""}${profile.metadataURI ? `, metadata ${profile.metadataURI}` : ""}`);
  out(`routable: ${active ? "yes" : "no"}${active ? "" : bondReason(stakeOf[0], minStake, stakeOf[3])}`);
  out(`USDC in wallet: ${usdc(balance)}`);

  // ---- stake
  const [bonded, unbonding, unlockAt, jailed, locked] = stakeOf;
  out("");
  out("stake");
  out(`  bonded:     ${usdc(bonded)} (minimum ${usdc(minStake)})`);
  if (unbonding > 0n) {
    const unlocked = now >= BigInt(unlockAt);
    out(`  unbonding:  ${usdc(unbonding)}, ${unlocked ? "unlocked since" : "unlocks at"} ${when(unlockAt, now)}`);
    if (unlocked) out(`              withdrawable now: ${usdc(withdrawable)}${withdrawable > 0n ? ` (run \`${CLI} withdraw\`)` : ""}`);
  } else {
    out(`  unbonding:  ${usdc(0n)}`);
  }
  // unjail counts only bonded stake beyond the locks (open disputes and unpaid SLA credits).
  out(`  jailed:     ${jailed ? `yes (bring bonded stake to ${usdc(minStake + locked)}, then \`${CLI} unjail\`)` : "no"}`);
  out(`  locked by open disputes and unpaid SLA credits: ${usdc(locked)}`);

  // ---- earnings
  const [claimable, vesting, nextVestAt] = earnings;
  out("");
  out("earnings");
  out(`  claimable:  ${usdc(claimable)}${claimable > 0n ? ` (run \`${CLI} claim\`)` : ""}`);
  out(`  vesting:    ${usdc(vesting)}${vesting > 0n && nextVestAt > 0 ? `, next vests at ${when(nextVestAt, now)}` : ""}`);

  // ---- history from logs
  const [listed, authorized, revoked, slaReports, slashes] = await Promise.all([
    logsOf(c, contracts.providerRegistry, eventOf(providerRegistryAbi, "ModelListed"), { provider }, blockNumber),
    logsOf(c, contracts.providerRegistry, eventOf(providerRegistryAbi, "WorkerAuthorized"), { provider }, blockNumber),
    logsOf(c, contracts.providerRegistry, eventOf(providerRegistryAbi, "WorkerRevoked"), { provider }, blockNumber),
    logsOf(c, contracts.slaCredits, eventOf(slaCreditsAbi, "SlaReported"), { provider }, blockNumber),
    logsOf(c, contracts.providerStaking, eventOf(providerStakingAbi, "Slashed"), { provider }, blockNumber),
  ]);

  // SLA credits and other slashes
  type Outcome = { creditBps: bigint; totalSpend: bigint; creditOwed: bigint; creditPaid: bigint };
  let slaPaid = 0n;
  let slaOwed = 0n;
  let slaWithCredit = 0;
  for (const l of slaReports) {
    const o = (l as unknown as { args: { outcome: Outcome } }).args.outcome;
    slaPaid += o.creditPaid;
    slaOwed += o.creditOwed;
    if (o.creditOwed > 0n) slaWithCredit++;
  }
  const SLA_REASON = ("0x" + Buffer.from("sla").toString("hex").padEnd(64, "0")) as Hex;
  let otherSlashed = 0n;
  let otherCount = 0;
  for (const l of slashes) {
    const a = (l as unknown as { args: { paid: bigint; reason: Hex } }).args;
    if (a.reason.toLowerCase() !== SLA_REASON) {
      otherSlashed += a.paid;
      otherCount++;
    }
  }
  out("");
  out("SLA credits and slashes");
  out(`  SLA reports: ${slaReports.length}, ${slaWithCredit} with a credit; credits paid from your stake: ${usdc(slaPaid)}${slaOwed > slaPaid ? ` (owed ${usdc(slaOwed)}; stake ran short)` : ""}`);
  out(`  dispute refunds from your stake: ${usdc(otherSlashed)}${otherCount ? ` (${otherCount} slash${otherCount > 1 ? "es" : ""})` : ""}`);

  // models
  const models = new Map<Hex, string>();
  for (const l of listed) {
    const a = (l as unknown as { args: { model: Hex; name: string } }).args;
    models.set(a.model, a.name);
  }
  out("");
  out(`models (${models.size})`);
  if (models.size === 0) out(`  none listed: ${CLI} list-model --model name:prompt:completion`);
  for (const [id, name] of models) {
    const [rec, inForce, info] = await Promise.all([
      c.publicClient.readContract({ ...reg, functionName: "priceRecord", args: [provider, id], blockNumber }),
      c.publicClient.readContract({ ...reg, functionName: "priceInForce", args: [provider, id], blockNumber }),
      c.publicClient.readContract({ ...reg, functionName: "modelInfo", args: [provider, id], blockNumber }),
    ]);
    const [p, q, served] = inForce;
    const details = [info.quantization, info.contextLength ? `${info.contextLength} ctx` : ""].filter(Boolean).join(", ");
    out(`  ${name}${details ? ` (${details})` : ""}: ${served ? `${pricePerMillion(BigInt(p))} prompt, ${pricePerMillion(BigInt(q))} completion` : "not served (delisted)"}`);
    const effectiveAt = BigInt(rec.nextEffectiveAt);
    if (effectiveAt > now) {
      if (rec.delistPending) out(`      delisting at ${when(effectiveAt, now)}`);
      else out(`      changes to ${pricePerMillion(BigInt(rec.nextPromptPrice))} prompt, ${pricePerMillion(BigInt(rec.nextCompletionPrice))} completion at ${when(effectiveAt, now)}`);
    }
  }

  // workers
  const workers = new Map<Address, boolean>();
  for (const l of [...authorized.map((l) => ({ l, on: true })), ...revoked.map((l) => ({ l, on: false }))].sort((a, b) => byPosition(a.l, b.l))) {
    workers.set((l.l as unknown as { args: { worker: Address } }).args.worker, l.on);
  }
  const current = [...workers].filter(([, on]) => on).map(([w]) => w);
  const checked = await Promise.all(
    current.map(async (w) => ({ w, ok: (await c.publicClient.readContract({ ...reg, functionName: "providerOfWorker", args: [w], blockNumber })) === provider })),
  );
  out("");
  out(`authorized workers (${checked.filter((x) => x.ok).length})`);
  if (checked.length === 0) out(`  none: ${CLI} authorize-worker <address>`);
  for (const { w, ok } of checked) out(`  ${w}${ok ? "" : " (log says authorized but the registry disagrees)"}`);
  const revokedCount = [...workers.values()].filter((on) => !on).length;
  if (revokedCount) out(`  (${revokedCount} revoked)`);
}

function bondReason(bonded: bigint, minStake: bigint, jailed: boolean): string {
  if (jailed) return " (jailed)";
  if (bonded < minStake) return ` (stake ${usdc(minStake - bonded)} more: \`${CLI} stake ${usdcArg(minStake - bonded)}\`)`;
  return "";
}

