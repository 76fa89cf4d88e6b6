/**
 * The SLA arrears keeper. When a provider's stake cannot pay a report's credit, SlaCredits pays what
 * exists and keeps the rest as the report's arrears, which anyone may collect once the provider has
 * stake again (`collectArrears`). This gateway collects those of its own reports, so its customers get
 * their credit without acting.
 *
 *  - It follows SlaCredits (SlaReported, ArrearsSet) and ProviderStaking (Staked, StakeUnlocked) from a
 *    persisted cursor (`sla_arrears`). A report is ours when its SlaReported carries our gateway id;
 *    its first ArrearsSet is in that same transaction. Each range is one DB transaction with the cursor.
 *  - A provider in arrears is checked on its Staked / StakeUnlocked, at start and every
 *    `arrearsCheckMs`. It is collected only when it has stake beyond its dispute locks, oldest report
 *    first, each call simulated before it is sent; a failure backs off, doubling up to the slow pass.
 *  - Only the leader runs it; it sends with the signer's wallet like the batch poster.
 */
import { BaseError, ContractFunctionRevertedError, getAddress, parseEventLogs, type Address, type Log } from "viem";
import { providerStakingAbi, slaCreditsAbi } from "@tollgate/protocol";
import type { Ctx } from "../context.ts";
import { big } from "../store/db.ts";
import { eventsNamed, walkLogRanges, type DecodedLog } from "../shared/range-walker.ts";
import { TX_RECEIPT_TIMEOUT_MS } from "./poster.ts";
import { applyArrearsEvent, arrearsByProvider, openReports, type ArrearsEvent, type OpenReport } from "./arrears-book.ts";

const EVENTS = [...eventsNamed(slaCreditsAbi, ["SlaReported", "ArrearsSet"]), ...eventsNamed(providerStakingAbi, ["Staked", "StakeUnlocked"])];

/**
 * Stake `collectArrears` can take: bonded and unbonding stake beyond the dispute locks. The arrears'
 * own locks do not count against it (the contract releases them, one pool), so a top-up smaller than
 * the arrears, which leaves `unlockedStake` at 0, is still collected.
 */
export function collectableStake(bonded: bigint, unbonding: bigint, locked: bigint, arrears: bigint): bigint {
  const disputes = locked > arrears ? locked - arrears : 0n;
  const total = bonded + unbonding;
  return total > disputes ? total - disputes : 0n;
}

/** The next wait after a failure: the poll interval first, then doubling, never beyond the slow pass. */
export function nextBackoffMs(previousMs: number | undefined, minMs: number, maxMs: number): number {
  return Math.min(maxMs, previousMs ? previousMs * 2 : minMs);
}

/** The contract error a call reverted with, if it reverted with one of the ABI's. */
function revertName(err: unknown): string | undefined {
  const reverted = err instanceof BaseError ? err.walk((e) => e instanceof ContractFunctionRevertedError) : null;
  return (reverted as ContractFunctionRevertedError | null)?.data?.errorName;
}

function toArrearsEvent(log: Log & { args: unknown }): ArrearsEvent {
  const a = log.args as Omit<ArrearsEvent, "block" | "logIndex">;
  return { reportKey: a.reportKey, provider: getAddress(a.provider), owed: a.owed, customers: a.customers, amounts: a.amounts, block: log.blockNumber!, logIndex: log.logIndex! };
}

export class ArrearsCollector {
  private readonly ctx: Ctx;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** Providers to check: a Staked / StakeUnlocked of theirs, the slow pass, or a failed attempt. */
  private readonly due = new Set<Address>();
  private readonly backoff = new Map<Address, { ms: number; until: number }>();
  private nextPassAt = 0;
  private gaugeStale = true;
  constructor(ctx: Ctx) {
    this.ctx = ctx;
  }

  start(): void {
    const loop = async () => {
      if (this.stopped) return;
      await this.tick().catch((err: Error) => this.ctx.log.warn({ err: (err as BaseError).shortMessage ?? err.message }, "SLA arrears: sync failed; retrying"));
      if (!this.stopped) this.timer = setTimeout(loop, this.ctx.config.chainPollMs);
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => {});
  }

  /** Follow the chain up to its head, then collect from the providers due. Serialised. */
  async tick(): Promise<void> {
    while (this.running) await this.running.catch(() => {});
    this.running = this.doTick().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async doTick(): Promise<void> {
    if (!this.ctx.isLeader()) return;
    await this.follow();
    const open = await arrearsByProvider(this.ctx.db);
    if (Date.now() >= this.nextPassAt) {
      this.nextPassAt = Date.now() + this.ctx.config.arrearsCheckMs;
      for (const a of open) this.due.add(a.provider);
    }
    const inArrears = new Set(open.map((a) => a.provider));
    for (const p of this.due) {
      if (this.stopped) break;
      if (!inArrears.has(p)) this.due.delete(p);
      else if ((this.backoff.get(p)?.until ?? 0) <= Date.now()) await this.attempt(p);
    }
    if (this.gaugeStale) await this.refreshGauge();
  }

  private async follow(): Promise<void> {
    const { db, config, publicClient } = this.ctx;
    const rows = await db.query(`SELECT block FROM cursors WHERE name = 'sla_arrears'`);
    await walkLogRanges({
      client: publicClient,
      address: [config.slaCredits, config.staking],
      events: EVENTS,
      from: rows[0] ? big(rows[0].block) + 1n : BigInt(config.startBlock),
      stopped: () => this.stopped,
      onRange: ({ to, logs }) => this.applyRange(to, logs),
    });
  }

  private async applyRange(to: bigint, logs: DecodedLog[]): Promise<void> {
    const { config } = this.ctx;
    // A report's first ArrearsSet comes before its SlaReported in the same transaction: find ours first.
    const ours = new Set(logs.filter((l) => l.eventName === "SlaReported" && Number(l.args.gatewayId) === config.gatewayId).map((l) => String(l.args.reportKey).toLowerCase()));
    const arrears = logs.filter((l) => l.eventName === "ArrearsSet").map(toArrearsEvent);
    await this.ctx.db.tx(async (q) => {
      for (const e of arrears) await applyArrearsEvent(q, e, ours.has(e.reportKey.toLowerCase()));
      await q.query(`INSERT INTO cursors (name, block) VALUES ('sla_arrears', $1) ON CONFLICT (name) DO UPDATE SET block = $1`, [to.toString()]);
    });
    if (arrears.length > 0) this.gaugeStale = true;
    for (const l of logs) if (l.eventName === "Staked" || l.eventName === "StakeUnlocked") this.due.add(getAddress(String(l.args.provider)));
  }

  /** Collect what the provider's stake allows; a failure backs off this provider only. */
  private async attempt(provider: Address): Promise<void> {
    const { config, log, metrics } = this.ctx;
    try {
      await this.collectFrom(provider);
      this.due.delete(provider);
      this.backoff.delete(provider);
    } catch (err) {
      const ms = nextBackoffMs(this.backoff.get(provider)?.ms, config.chainPollMs, config.arrearsCheckMs);
      this.backoff.set(provider, { ms, until: Date.now() + ms });
      metrics.arrearsCollections.inc({ outcome: "failed" });
      log.warn({ provider, err: (err as BaseError).shortMessage ?? (err as Error).message, retryInMs: ms }, "SLA arrears: collection failed");
    }
  }

  private async collectFrom(provider: Address): Promise<void> {
    if ((await this.collectable(provider)) === 0n) return;
    for (const report of await openReports(this.ctx.db, provider)) {
      const paid = await this.simulate(report);
      if (paid === null) continue;
      if (paid === 0n) return;
      if ((await this.send(report)) > 0n) return; // the stake ran out before this report was paid off
    }
  }

  private async collectable(provider: Address): Promise<bigint> {
    const { publicClient, config } = this.ctx;
    const [[bonded, unbonding, , , locked], arrears] = await Promise.all([
      publicClient.readContract({ address: config.staking, abi: providerStakingAbi, functionName: "stakeOf", args: [provider] }),
      publicClient.readContract({ address: config.slaCredits, abi: slaCreditsAbi, functionName: "arrearsOf", args: [provider] }),
    ]);
    return collectableStake(bonded, unbonding, locked, arrears);
  }

  /** What collecting the report would pay now, or null when our lists are stale (the chain moved on). */
  private async simulate(r: OpenReport): Promise<bigint | null> {
    const { publicClient, config, signer, log } = this.ctx;
    try {
      const { result } = await publicClient.simulateContract({ address: config.slaCredits, abi: slaCreditsAbi, functionName: "collectArrears", args: [r.reportKey, r.customers, r.amounts], account: signer });
      return result;
    } catch (err) {
      const name = revertName(err);
      if (name !== "NoArrears" && name !== "ArrearsMismatch") throw err;
      // Paid off or collected by someone else since: the follower brings the book up to date.
      log.info({ provider: r.provider, reportKey: r.reportKey, reason: name }, "SLA arrears: the book is behind the chain; skipped");
      return null;
    }
  }

  /** Send collectArrears, apply the ArrearsSet it emitted, and return what the report still owes. */
  private async send(r: OpenReport): Promise<bigint> {
    const { publicClient, walletClient, config, signer, db, log, metrics } = this.ctx;
    const hash = await walletClient.writeContract({ address: config.slaCredits, abi: slaCreditsAbi, functionName: "collectArrears", args: [r.reportKey, r.customers, r.amounts], account: signer, chain: null });
    const receipt = await publicClient.waitForTransactionReceipt({ hash, timeout: TX_RECEIPT_TIMEOUT_MS });
    if (receipt.status !== "success") throw new Error(`collectArrears reverted in ${hash}`);
    const events = parseEventLogs({ abi: slaCreditsAbi, eventName: "ArrearsSet", logs: receipt.logs }).map(toArrearsEvent);
    await db.tx(async (q) => {
      for (const e of events) await applyArrearsEvent(q, e, false);
    });
    this.gaugeStale = true;
    const owed = events.find((e) => e.reportKey.toLowerCase() === r.reportKey.toLowerCase())?.owed ?? 0n;
    metrics.arrearsCollections.inc({ outcome: "collected" });
    metrics.arrearsCollected.inc({ provider: r.provider }, Number(r.owed - owed));
    log.info({ provider: r.provider, reportKey: r.reportKey, paid: (r.owed - owed).toString(), stillOwed: owed.toString(), tx: hash }, "SLA arrears collected");
    return owed;
  }

  private async refreshGauge(): Promise<void> {
    const open = await arrearsByProvider(this.ctx.db);
    this.ctx.metrics.arrearsOpen.reset();
    for (const a of open) this.ctx.metrics.arrearsOpen.set({ provider: a.provider }, Number(a.owed));
    this.gaugeStale = false;
  }
}
