/**
 * Follows the chain's escrow events (getLogs polling over block ranges, never per request) and
 * keeps each customer's available balance, debt and unsettled spend in step:
 *
 *  - Deposited, WithdrawalRequested/Canceled, Withdrawn, SlaCreditPaid, DisputeResolved, and another
 *    gateway's BatchSettled change a customer's on-chain balance: re-read `accountOf` at the range's
 *    last block.
 *  - Our own BatchSettled moves the batch's receipts from unsettled spend to the chain balance;
 *    EntrySkipped turns the entry's charge into debt.
 *
 * Every range is applied in one database transaction together with the cursor, then to the ledger.
 */
import { decodeFunctionData, getAddress, type Address, type Log, type PublicClient } from "viem";
import { settlementAbi, entryCharge, type BatchEntry } from "@tollgate/protocol";
import type { Ctx } from "../context.ts";
import { big, type Queryable } from "../store/db.ts";
import { eventsNamed, walkLogRanges, type DecodedLog } from "../shared/range-walker.ts";

const EVENT_NAMES = [
  "Deposited",
  "WithdrawalRequested",
  "WithdrawalCanceled",
  "Withdrawn",
  "BatchSettled",
  "EntrySkipped",
  "SlaCreditPaid",
  "DisputeResolved",
] as const;
const EVENTS = eventsNamed(settlementAbi, EVENT_NAMES);

export class ChainFollower {
  private readonly ctx: Ctx;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** Last block fully applied. */
  head = -1n;
  constructor(ctx: Ctx) {
    this.ctx = ctx;
  }

  private get client(): PublicClient {
    return this.ctx.publicClient;
  }

  async cursor(): Promise<bigint> {
    const rows = await this.ctx.db.query(`SELECT block FROM cursors WHERE name = 'escrow'`);
    return rows[0] ? big(rows[0].block) : BigInt(this.ctx.config.startBlock) - 1n;
  }

  start(): void {
    const loop = async () => {
      if (this.stopped) return;
      try {
        await this.syncOnce();
      } catch (err) {
        this.ctx.log.warn({ err: (err as Error).message }, "chain follower: sync failed; retrying");
      }
      if (!this.stopped) this.timer = setTimeout(loop, this.ctx.config.chainPollMs);
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Apply every block up to the chain head (one range at a time). Serialised. */
  async syncOnce(): Promise<void> {
    while (this.running) await this.running;
    this.running = this.doSync().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async doSync(): Promise<void> {
    const from = (await this.cursor()) + 1n;
    const { latest } = await walkLogRanges({
      client: this.client,
      address: this.ctx.config.settlement,
      events: EVENTS,
      from,
      stopped: () => this.stopped,
      onRange: ({ to, logs }) => this.applyRange(to, logs),
    });
    this.head = latest;
  }

  private async applyRange(to: bigint, logs: DecodedLog[]): Promise<void> {
    const { db, config } = this.ctx;
    const affected = new Set<Address>();
    const ourSettled: { batchId: bigint; block: bigint }[] = [];
    const skipped: { batchId: bigint; index: number; reason: number }[] = [];
    for (const log of logs) {
      const a = log.args;
      switch (log.eventName) {
        case "Deposited":
        case "WithdrawalRequested":
        case "WithdrawalCanceled":
        case "Withdrawn":
        case "SlaCreditPaid":
          affected.add(getAddress(a.customer as string));
          break;
        case "DisputeResolved": {
          const d = await this.client.readContract({ address: config.settlement, abi: settlementAbi, functionName: "disputeOf", args: [a.disputeId as bigint], blockNumber: to });
          affected.add(getAddress((d as { customer: string }).customer));
          break;
        }
        case "BatchSettled":
          if (Number(a.gatewayId) === config.gatewayId) ourSettled.push({ batchId: a.batchId as bigint, block: log.blockNumber! });
          else for (const c of await this.customersOfForeignBatch(log)) affected.add(c);
          break;
        case "EntrySkipped":
          if (Number(a.gatewayId) === config.gatewayId) skipped.push({ batchId: a.batchId as bigint, index: Number(a.index), reason: Number(a.reason) });
          break;
      }
    }

    // Entries of our settled batches: which customers they touch and what leaves unsettled spend.
    const settledUnits = new Map<string, bigint>();
    const debtAdd = new Map<string, bigint>();
    const batchesToMark: bigint[] = [];
    for (const s of ourSettled) {
      const rows = await db.query(`SELECT entries, state FROM batches WHERE id = $1`, [s.batchId.toString()]);
      if (!rows[0]) {
        this.ctx.log.error({ batchId: s.batchId.toString() }, "chain settled a batch of this gateway that the database does not know");
        continue;
      }
      if (rows[0].state === "settled") continue; // applied before (restart in the middle of a range)
      batchesToMark.push(s.batchId);
      const entries = parseEntries(rows[0].entries);
      for (const e of entries) affected.add(getAddress(e.customer));
      const sums = await db.query(`SELECT customer, SUM(charge_units) AS units FROM receipts WHERE batch_id = $1 GROUP BY customer`, [s.batchId.toString()]);
      for (const r of sums) settledUnits.set(String(r.customer), (settledUnits.get(String(r.customer)) ?? 0n) + big(r.units));
      for (const sk of skipped.filter((x) => x.batchId === s.batchId)) {
        const e = entries[sk.index];
        if (!e) continue;
        if (sk.reason !== 2) {
          // Price above published: the gateway's mistake (stale price cache), never the customer's debt.
          this.ctx.log.error({ batchId: s.batchId.toString(), index: sk.index, reason: sk.reason }, "entry skipped on-chain for its price; not billed");
          continue;
        }
        const c = e.customer.toLowerCase();
        debtAdd.set(c, (debtAdd.get(c) ?? 0n) + entryCharge(e));
      }
    }

    const balances = new Map<string, { available: bigint; pending: bigint }>();
    await Promise.all(
      [...affected].map(async (c) => {
        const [available, pending] = await this.client.readContract({ address: config.settlement, abi: settlementAbi, functionName: "accountOf", args: [c], blockNumber: to });
        balances.set(c.toLowerCase(), { available, pending });
      }),
    );

    const debts = new Map<string, bigint>();
    await db.tx(async (q) => {
      for (const [c, b] of balances) {
        const add = debtAdd.get(c) ?? 0n;
        const rows = await q.query(
          `INSERT INTO customers (address, available, pending, debt, block) VALUES ($1,$2,$3,$4,$5)
           ON CONFLICT (address) DO UPDATE SET available = $2, pending = $3, debt = customers.debt + $4, block = $5 RETURNING debt`,
          [c, b.available.toString(), b.pending.toString(), add.toString(), to.toString()],
        );
        debts.set(c, big(rows[0]?.debt));
      }
      for (const id of batchesToMark) {
        await q.query(`UPDATE batches SET state = 'settled', settled_block = $2 WHERE id = $1`, [id.toString(), to.toString()]);
        for (const sk of skipped.filter((x) => x.batchId === id)) {
          const rows = await q.query(`SELECT entries FROM batches WHERE id = $1`, [id.toString()]);
          const e = parseEntries(rows[0]!.entries)[sk.index];
          if (!e) continue;
          // Only "insufficient balance" (2) becomes debt; the row records every skip for operators.
          if (sk.reason !== 2) {
            await q.query(`INSERT INTO skipped_entries (batch_id, idx, customer, reason, amount) VALUES ($1,$2,$3,$4,0) ON CONFLICT DO NOTHING`, [id.toString(), sk.index, e.customer.toLowerCase(), sk.reason]);
            continue;
          }
          await q.query(`INSERT INTO skipped_entries (batch_id, idx, customer, reason, amount) VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING`, [
            id.toString(),
            sk.index,
            e.customer.toLowerCase(),
            sk.reason,
            entryCharge(e).toString(),
          ]);
        }
      }
      for (const [c, b] of balances) {
        const debt = debts.get(c) ?? 0n;
        if (debt > 0n && b.available >= debt) {
          const back = await requeueDebt(q, c, to);
          debts.set(c, back.debt);
          settledUnits.set(c, (settledUnits.get(c) ?? 0n) - back.units);
          this.ctx.log.info({ customer: c, entries: back.entries, units: back.units.toString() }, "customer can pay its debt: skipped usage goes into the next batch");
        }
      }
      await q.query(`INSERT INTO cursors (name, block) VALUES ('escrow', $1) ON CONFLICT (name) DO UPDATE SET block = $1`, [to.toString()]);
    });
    for (const [c, b] of balances) await this.ctx.ledger.update(c, b.available, debts.get(c) ?? 0n, settledUnits.get(c) ?? 0n, to);
    if (batchesToMark.length) this.ctx.log.info({ batches: batchesToMark.map(String), skipped: skipped.length }, "batches settled on-chain");
  }

  /** Customers in another gateway's batch: decoded from the transaction's calldata. */
  private async customersOfForeignBatch(log: Log): Promise<Address[]> {
    try {
      const tx = await this.client.getTransaction({ hash: log.transactionHash! });
      const { functionName, args } = decodeFunctionData({ abi: settlementAbi, data: tx.input });
      if (functionName !== "settleBatch") return [];
      const batch = (args as unknown as [{ entries: { customer: Address }[] }])[0];
      return batch.entries.map((e) => getAddress(e.customer));
    } catch {
      return []; // settled through a contract wallet: balances catch up on the customer's next event
    }
  }
}

/**
 * Debt collection, the simplest sound rule: once the customer's on-chain balance covers its debt
 * (it topped up), the receipts of its skipped entries leave their settled batch and wait for the
 * next one, exactly like fresh usage (the batch that skipped them still publishes them: its root
 * committed to them, see batch_receipts). Their charge moves from `debt` to unsettled spend, which
 * unblocks the customer at once while still keeping that amount out of what it can spend. If the
 * next batch skips them again (the customer withdrew in between), they become debt again.
 */
async function requeueDebt(q: Queryable, customer: string, block: bigint): Promise<{ debt: bigint; units: bigint; entries: number }> {
  const rows = await q.query(`SELECT batch_id, idx, amount FROM skipped_entries WHERE customer = $1 AND reason = 2 AND requeued_block IS NULL`, [customer]);
  let amount = 0n;
  let units = 0n;
  for (const sk of rows) {
    const b = await q.query(`SELECT entries FROM batches WHERE id = $1`, [String(sk.batch_id)]);
    const e = b[0] ? parseEntries(b[0].entries)[Number(sk.idx)] : undefined;
    if (e) {
      const moved = await q.query(
        `UPDATE receipts SET batch_id = NULL WHERE batch_id = $1 AND customer = $2 AND provider = $3 AND model = $4 AND prompt_price = $5 AND completion_price = $6 AND status <> 3 RETURNING charge_units`,
        [String(sk.batch_id), customer, e.provider.toLowerCase(), e.model, e.promptPrice.toString(), e.completionPrice.toString()],
      );
      for (const m of moved) units += big(m.charge_units);
    }
    amount += big(sk.amount);
    await q.query(`UPDATE skipped_entries SET requeued_block = $3 WHERE batch_id = $1 AND idx = $2`, [String(sk.batch_id), Number(sk.idx), block.toString()]);
  }
  const after = await q.query(`UPDATE customers SET debt = GREATEST(debt - $2, 0) WHERE address = $1 RETURNING debt`, [customer, amount.toString()]);
  return { debt: big(after[0]?.debt), units, entries: rows.length };
}

export function parseEntries(raw: unknown): BatchEntry[] {
  const list = (typeof raw === "string" ? JSON.parse(raw) : raw) as Record<string, string | number>[];
  return list.map((e) => ({
    customer: getAddress(String(e.customer)),
    provider: getAddress(String(e.provider)),
    model: String(e.model) as `0x${string}`,
    requests: Number(e.requests),
    promptTokens: BigInt(e.promptTokens!),
    completionTokens: BigInt(e.completionTokens!),
    promptPrice: BigInt(e.promptPrice!),
    completionPrice: BigInt(e.completionPrice!),
  }));
}

export function entriesJson(entries: BatchEntry[]): string {
  return JSON.stringify(entries, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}
