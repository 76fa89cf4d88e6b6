/**
 * Checks every settled batch against the receipts its gateway publishes
 * (`GET /v1/batches/:id/receipts`): the Merkle root recomputed from the receipts must equal the root
 * posted on-chain, the count must match, and the receipts must aggregate to exactly the batch's
 * entries (aggregateEntries / receiptTree from @tollgate/protocol, the code the gateway itself uses).
 * A batch stays PENDING while its receipts cannot be fetched, retried with backoff.
 */
import { z } from "zod";
import type { Logger } from "pino";
import { aggregateEntries, receiptCost, receiptJsonSchema, receiptLeafHash, receiptTree, type BatchEntry, type Receipt } from "@tollgate/protocol";
import { insertMany, big, type Db } from "../db/db.ts";

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
const publishedSchema = z.object({ gatewayId: z.number().int().optional(), batchId: z.string(), receiptsRoot: hex32.optional(), receipts: z.array(receiptJsonSchema) });

type Outcome = { status: "VERIFIED" | "MISMATCH" | "PENDING"; reason: string | null; receipts?: Receipt[] };

const entryKey = (e: BatchEntry) =>
  [e.customer, e.provider, e.model, e.promptPrice, e.completionPrice, e.requests, e.promptTokens, e.completionTokens].join("|").toLowerCase();

/** The verdict for one batch, given its published receipts and what the chain recorded. */
export function verdict(receipts: Receipt[], onChain: { root: string; receiptCount: number; entries: BatchEntry[] | null }): Omit<Outcome, "receipts"> {
  if (receipts.length !== onChain.receiptCount) {
    return { status: "MISMATCH", reason: `gateway published ${receipts.length} receipts, the batch posted receiptCount ${onChain.receiptCount}` };
  }
  if (receipts.length === 0) return { status: "MISMATCH", reason: "gateway published no receipts" };
  const root = receiptTree(receipts).root.toLowerCase();
  if (root !== onChain.root.toLowerCase()) return { status: "MISMATCH", reason: `receipts root ${root} differs from the on-chain root ${onChain.root}` };
  const badCost = receipts.find((r) => r.status !== 3 && r.cost !== receiptCost(r));
  if (badCost) return { status: "MISMATCH", reason: `receipt ${badCost.id} cost ${badCost.cost} is not its tokens times its prices` };
  if (onChain.entries) {
    const mine = aggregateEntries(receipts).map(entryKey).sort();
    const theirs = onChain.entries.map(entryKey).sort();
    if (mine.length !== theirs.length || mine.some((k, i) => k !== theirs[i])) {
      return { status: "MISMATCH", reason: `receipts aggregate to ${mine.length} entries that differ from the ${theirs.length} entries settled on-chain` };
    }
  }
  return { status: "VERIFIED", reason: null };
}

export class ReceiptVerifier {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly db: Db;
  private readonly gateways: Record<string, string>;
  private readonly log: Logger;
  private readonly pollMs: number;
  constructor(db: Db, gateways: Record<string, string>, log: Logger, pollMs: number) {
    this.db = db;
    this.gateways = gateways;
    this.log = log;
    this.pollMs = pollMs;
  }

  start(): void {
    const tick = () => {
      this.running = this.checkDue().catch((err) => this.log.warn({ err: (err as Error).message }, "receipt verification pass failed"));
      void this.running.finally(() => {
        if (this.timer !== null) this.timer = setTimeout(tick, this.pollMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Check every PENDING batch whose retry time has come. */
  async checkDue(): Promise<void> {
    const due = await this.db.query(
      `SELECT c.gateway_id, c.batch_id, c.attempts, b.receipts_root, b.receipt_count, b.entries_known, b.block_number
         FROM batch_checks c JOIN batches b USING (gateway_id, batch_id)
        WHERE c.status = 'PENDING' AND c.next_try_ms <= $1 ORDER BY b.block_number LIMIT 50`,
      [Date.now()],
    );
    for (const row of due) await this.checkOne(row);
  }

  private async checkOne(row: Record<string, unknown>): Promise<void> {
    const gatewayId = Number(row.gateway_id);
    const batchId = String(row.batch_id);
    const attempts = Number(row.attempts) + 1;
    const outcome = await this.fetchAndVerify(gatewayId, batchId, row);
    const now = Math.floor(Date.now() / 1000);
    const nextTry = Date.now() + Math.min(300_000, this.pollMs * 2 ** Math.min(attempts, 10));
    await this.db.tx(async (q) => {
      // The batch may have been rolled back by a reorg meanwhile: only update what still exists.
      const still = await q.query(`SELECT 1 FROM batches WHERE gateway_id = $1 AND batch_id = $2 AND receipts_root = $3`, [gatewayId, batchId, row.receipts_root]);
      if (!still[0]) return;
      await q.query(`UPDATE batch_checks SET status = $3, reason = $4, checked_at = $5, attempts = $6, next_try_ms = $7 WHERE gateway_id = $1 AND batch_id = $2`, [
        gatewayId, batchId, outcome.status, outcome.reason, now, attempts, nextTry,
      ]);
      if (outcome.receipts) {
        await q.query(`DELETE FROM receipts WHERE gateway_id = $1 AND batch_id = $2`, [gatewayId, batchId]);
        await insertMany(q, "receipts", outcome.receipts.map((r) => ({
          id: r.id.toLowerCase(), gateway_id: gatewayId, batch_id: batchId, block_number: row.block_number, leaf_hash: receiptLeafHash(r).toLowerCase(),
          customer: r.customer.toLowerCase(), provider: r.provider.toLowerCase(), worker: r.worker.toLowerCase(), model: r.model.toLowerCase(),
          prompt_tokens: r.promptTokens, cached_tokens: r.cachedTokens, completion_tokens: r.completionTokens, reasoning_tokens: r.reasoningTokens,
          prompt_price: r.promptPrice, completion_price: r.completionPrice, cost: r.cost, ttft_ms: r.ttftMs, duration_ms: r.durationMs,
          status: r.status, served_at: r.servedAt,
        })));
      }
    });
    if (outcome.status === "MISMATCH") this.log.warn({ gatewayId, batchId, reason: outcome.reason }, "batch receipts do not match the chain");
    else this.log.debug({ gatewayId, batchId, status: outcome.status }, "batch checked");
  }

  private async fetchAndVerify(gatewayId: number, batchId: string, row: Record<string, unknown>): Promise<Outcome> {
    const base = this.gateways[String(gatewayId)];
    if (!base) return { status: "PENDING", reason: `no URL configured for gateway ${gatewayId} (INDEXER_GATEWAYS)` };
    let body: unknown;
    try {
      const res = await fetch(`${base.replace(/\/$/, "")}/v1/batches/${batchId}/receipts`, { signal: AbortSignal.timeout(15_000) });
      if (res.status === 404) return { status: "PENDING", reason: "gateway does not publish this batch yet (404)" };
      if (!res.ok) return { status: "PENDING", reason: `gateway answered HTTP ${res.status}` };
      body = await res.json();
    } catch (err) {
      return { status: "PENDING", reason: `gateway unreachable: ${(err as Error).message}` };
    }
    const parsed = publishedSchema.safeParse(body);
    if (!parsed.success) return { status: "MISMATCH", reason: `published receipts are malformed: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}` };
    if (parsed.data.batchId !== batchId || (parsed.data.gatewayId !== undefined && parsed.data.gatewayId !== gatewayId)) {
      return { status: "MISMATCH", reason: `gateway answered for batch ${parsed.data.gatewayId}/${parsed.data.batchId}` };
    }
    const receipts: Receipt[] = parsed.data.receipts;
    let entries: BatchEntry[] | null = null;
    if (row.entries_known === true) {
      const rows = await this.db.query(`SELECT * FROM batch_entries WHERE gateway_id = $1 AND batch_id = $2 ORDER BY idx`, [gatewayId, batchId]);
      entries = rows.map((e) => ({
        customer: String(e.customer) as `0x${string}`, provider: String(e.provider) as `0x${string}`, model: String(e.model) as `0x${string}`,
        requests: Number(e.requests), promptTokens: big(e.prompt_tokens), completionTokens: big(e.completion_tokens),
        promptPrice: big(e.prompt_price), completionPrice: big(e.completion_price),
      }));
    }
    const v = verdict(receipts, { root: String(row.receipts_root), receiptCount: Number(row.receipt_count), entries });
    return { ...v, receipts };
  }
}
