/**
 * At the end of each SLA window: one signed SlaReport per (provider, customer tier) with the measured
 * availability and p95 TTFT and each customer's spend with that provider in the window (from
 * receipts), submitted to SlaCredits.submitReport. A report is recorded before it is sent; the
 * contract accepts one per (gateway, provider, tier, windowStart).
 *
 * The window's start is kept in the database (cursor `sla_window`) and the SLIs come from the
 * persisted per-minute intervals, so a window that spans a restart (or a change of leader) is
 * reported whole.
 */
import { getAddress, type Address } from "viem";
import { domainOf, slaCreditsAbi, slaReportTypes, type SlaReport } from "@tollgate/protocol";
import type { Ctx } from "../context.ts";
import { big } from "../store/db.ts";

/**
 * The last second (inclusive) of the SLA window that closes at `nowSec`. Availability is kept in
 * one-minute intervals, so a window of a minute or more ends on the last whole minute: the minute
 * still filling belongs to the next window, and no interval is counted in two reports. Windows
 * shorter than a minute (devnet, tests) end a second before now and share their boundary minutes.
 */
export function slaWindowEnd(nowSec: number, windowSec: number): number {
  return windowSec >= 60 ? Math.floor(nowSec / 60) * 60 - 1 : nowSec - 1;
}

export class SlaReporter {
  private readonly ctx: Ctx;
  private timer: NodeJS.Timeout | null = null;
  constructor(ctx: Ctx) {
    this.ctx = ctx;
  }

  /** Start of the window being measured: persisted, or now on the very first start. */
  async windowStart(): Promise<number> {
    const rows = await this.ctx.db.query(`SELECT block FROM cursors WHERE name = 'sla_window'`);
    if (rows[0]) return Number(rows[0].block);
    const now = Math.floor(Date.now() / 1000);
    await this.ctx.db.query(`INSERT INTO cursors (name, block) VALUES ('sla_window', $1) ON CONFLICT (name) DO NOTHING`, [now]);
    return this.windowStart();
  }
  start(): void {
    const sec = this.ctx.config.slaWindowSec;
    if (sec <= 0) return;
    this.timer = setInterval(() => void this.closeWindow().catch((err) => this.ctx.log.warn({ err: (err as Error).message }, "SLA report failed")), sec * 1000);
    this.timer.unref();
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async closeWindow(): Promise<number> {
    const { ctx } = this;
    if (!ctx.isLeader()) return 0;
    const windowStart = await this.windowStart();
    const windowEnd = slaWindowEnd(Math.floor(Date.now() / 1000), ctx.config.slaWindowSec);
    if (windowEnd <= windowStart) return 0;
    await ctx.sli.flush(ctx.db);
    await ctx.db.query(`UPDATE cursors SET block = $1 WHERE name = 'sla_window'`, [windowEnd + 1]);
    let sent = 0;
    for (const provider of await ctx.sli.providersIn(ctx.db, windowStart, windowEnd)) {
      ctx.sli.take(getAddress(provider));
      const snap = await ctx.sli.window(ctx.db, provider, windowStart, windowEnd);
      if (snap.requests === 0) continue;
      const rows = await ctx.db.query(
        `SELECT r.customer, COALESCE(a.tier, 'hobby') AS tier, SUM(r.charge_units) AS spend FROM receipts r LEFT JOIN accounts a ON a.address = r.customer
         WHERE r.provider = $1 AND r.served_at >= $2 AND r.served_at <= $3 AND r.status <> 3 GROUP BY r.customer, a.tier`,
        [provider.toLowerCase(), windowStart, windowEnd],
      );
      const byTier = new Map<number, { customer: Address; spend: bigint }[]>();
      for (const r of rows) {
        const tier = ctx.tiers[String(r.tier) as keyof typeof ctx.tiers]?.index ?? 0;
        const list = byTier.get(tier) ?? [];
        list.push({ customer: getAddress(String(r.customer)), spend: big(r.spend) });
        byTier.set(tier, list);
      }
      for (const [tier, spends] of byTier) {
        const report: SlaReport = {
          gatewayId: ctx.config.gatewayId,
          provider: getAddress(provider),
          tier,
          windowStart: BigInt(windowStart),
          windowEnd: BigInt(windowEnd),
          requests: snap.requests,
          availabilityPpm: Math.min(1_000_000, snap.availabilityPpm),
          p95TtftMs: Math.round(snap.ttftMs.p95),
          deadline: BigInt(Math.floor(Date.now() / 1000) + 3600),
          spends: spends.slice(0, 256),
        };
        const inserted = await ctx.db.query(
          `INSERT INTO sla_reports (provider, tier, window_start, state) VALUES ($1,$2,$3,'signed') ON CONFLICT DO NOTHING RETURNING provider`,
          [provider.toLowerCase(), tier, windowStart],
        );
        if (inserted.length === 0) continue;
        const signature = await ctx.signer.signTypedData({ domain: domainOf("sla", ctx.config.chainId, ctx.config.slaCredits), types: slaReportTypes, primaryType: "SlaReport", message: report });
        const hash = await ctx.walletClient.writeContract({ address: ctx.config.slaCredits, abi: slaCreditsAbi, functionName: "submitReport", args: [report as never, signature], account: ctx.signer, chain: null });
        await ctx.publicClient.waitForTransactionReceipt({ hash });
        await ctx.db.query(`UPDATE sla_reports SET state = 'sent', tx_hash = $4 WHERE provider = $1 AND tier = $2 AND window_start = $3`, [provider.toLowerCase(), tier, windowStart, hash]);
        sent++;
      }
    }
    return sent;
  }
}
