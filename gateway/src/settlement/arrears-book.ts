/**
 * The durable book of the open SLA arrears of this gateway's reports (table `sla_arrears`): each
 * report's customers and amounts from its latest ArrearsSet, which `collectArrears` must be given
 * back (the chain keeps only their hash). A report paid off (owed 0) leaves the book.
 */
import { getAddress, type Address, type Hex } from "viem";
import { big, type Queryable } from "../store/db.ts";

/** One ArrearsSet event and where it was emitted. */
export type ArrearsEvent = {
  reportKey: Hex;
  provider: Address;
  owed: bigint;
  customers: readonly Address[];
  amounts: readonly bigint[];
  block: bigint;
  logIndex: number;
};

export type OpenReport = { reportKey: Hex; provider: Address; owed: bigint; customers: Address[]; amounts: bigint[] };
export type ProviderArrears = { provider: Address; owed: bigint; reports: number };

/**
 * Record an ArrearsSet. A report the book does not hold yet is added only when `track` (its first
 * ArrearsSet, in the transaction of a report of ours). An event at or before the one applied (a
 * range read after a collection already applied its receipt) changes nothing.
 */
export async function applyArrearsEvent(q: Queryable, e: ArrearsEvent, track: boolean): Promise<void> {
  const at = [e.reportKey.toLowerCase(), e.block.toString(), e.logIndex];
  if (e.owed === 0n) {
    await q.query(`DELETE FROM sla_arrears WHERE report_key = $1 AND (block, log_index) < ($2, $3)`, at);
    return;
  }
  const lists = [e.provider.toLowerCase(), e.owed.toString(), JSON.stringify(e.customers), JSON.stringify(e.amounts.map(String))];
  if (!track) {
    await q.query(
      `UPDATE sla_arrears SET owed = $4, customers = $5::jsonb, amounts = $6::jsonb, block = $2, log_index = $3
       WHERE report_key = $1 AND (block, log_index) < ($2, $3)`,
      [...at, ...lists.slice(1)],
    );
    return;
  }
  await q.query(
    `INSERT INTO sla_arrears (report_key, block, log_index, provider, owed, customers, amounts, opened_block, opened_log)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $2, $3)
     ON CONFLICT (report_key) DO UPDATE SET owed = EXCLUDED.owed, customers = EXCLUDED.customers, amounts = EXCLUDED.amounts,
       block = EXCLUDED.block, log_index = EXCLUDED.log_index
     WHERE (sla_arrears.block, sla_arrears.log_index) < (EXCLUDED.block, EXCLUDED.log_index)`,
    [...at, ...lists],
  );
}

/** A provider's open reports, the oldest first (the order they are collected in). */
export async function openReports(q: Queryable, provider: Address): Promise<OpenReport[]> {
  const rows = await q.query(`SELECT * FROM sla_arrears WHERE provider = $1 ORDER BY opened_block, opened_log`, [provider.toLowerCase()]);
  return rows.map((r) => ({
    reportKey: String(r.report_key) as Hex,
    provider: getAddress(String(r.provider)),
    owed: big(r.owed),
    customers: jsonList(r.customers).map((c) => getAddress(c)),
    amounts: jsonList(r.amounts).map((a) => BigInt(a)),
  }));
}

/** Open arrears per provider (GET /status, the metrics). */
export async function arrearsByProvider(q: Queryable): Promise<ProviderArrears[]> {
  const rows = await q.query(`SELECT provider, SUM(owed) AS owed, COUNT(*) AS reports FROM sla_arrears GROUP BY provider ORDER BY provider`);
  return rows.map((r) => ({ provider: getAddress(String(r.provider)), owed: big(r.owed), reports: Number(r.reports) }));
}

/** A jsonb column, parsed or as text depending on the driver. */
function jsonList(v: unknown): string[] {
  return (typeof v === "string" ? JSON.parse(v) : v) as string[];
}
