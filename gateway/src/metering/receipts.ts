/**
 * Receipts: one per dispatched request, written durably before the response completes. Writes are
 * group-committed (all receipts queued in one tick go in one INSERT) to keep the hot path short.
 */
import { getAddress, type Hex } from "viem";
import type { Receipt } from "@tollgate/protocol";
import type { Db, Row } from "../store/db.ts";
import { big } from "../store/db.ts";

export type StoredReceipt = Receipt & {
  requestId: string;
  modelName: string;
  keyId: string | null;
  chargeUnits: bigint;
  usageSource: string | null;
  drift: number | null;
  batchId: bigint | null;
};

/** What the ledger holds for a receipt: its exact cost rounded up to USDC base units. */
export const chargeUnits = (cost: bigint) => (cost + 999_999n) / 1_000_000n;

const COLUMNS = [
  "id", "request_id", "customer", "provider", "worker", "model", "model_name", "key_id", "prompt_tokens", "cached_tokens", "completion_tokens",
  "reasoning_tokens", "prompt_price", "completion_price", "cost", "charge_units", "ttft_ms", "duration_ms", "status", "served_at", "usage_source",
  "drift", "created_ms",
];

function values(r: StoredReceipt): unknown[] {
  return [
    r.id, r.requestId, r.customer.toLowerCase(), r.provider.toLowerCase(), r.worker.toLowerCase(), r.model, r.modelName, r.keyId,
    r.promptTokens, r.cachedTokens, r.completionTokens, r.reasoningTokens, r.promptPrice.toString(), r.completionPrice.toString(),
    r.cost.toString(), r.chargeUnits.toString(), r.ttftMs, r.durationMs, r.status, r.servedAt.toString(), r.usageSource, r.drift, Date.now(),
  ];
}

export function rowToReceipt(row: Row): StoredReceipt {
  return {
    id: String(row.id) as Hex,
    customer: getAddress(String(row.customer)),
    provider: getAddress(String(row.provider)),
    worker: getAddress(String(row.worker)),
    model: String(row.model) as Hex,
    promptTokens: Number(row.prompt_tokens),
    cachedTokens: Number(row.cached_tokens),
    completionTokens: Number(row.completion_tokens),
    reasoningTokens: Number(row.reasoning_tokens),
    promptPrice: big(row.prompt_price),
    completionPrice: big(row.completion_price),
    cost: big(row.cost),
    ttftMs: Number(row.ttft_ms),
    durationMs: Number(row.duration_ms),
    status: Number(row.status),
    servedAt: big(row.served_at),
    requestId: String(row.request_id),
    modelName: String(row.model_name),
    keyId: row.key_id === null ? null : String(row.key_id),
    chargeUnits: big(row.charge_units),
    usageSource: row.usage_source === null ? null : String(row.usage_source),
    drift: row.drift === null ? null : Number(row.drift),
    batchId: row.batch_id === null || row.batch_id === undefined ? null : big(row.batch_id),
  };
}

/** Public JSON of a receipt (bigints as decimal strings); never any prompt or output text. */
export function receiptJson(r: StoredReceipt) {
  return {
    id: r.id,
    requestId: r.requestId,
    customer: r.customer,
    provider: r.provider,
    worker: r.worker,
    model: r.model,
    modelName: r.modelName,
    promptTokens: r.promptTokens,
    cachedTokens: r.cachedTokens,
    completionTokens: r.completionTokens,
    reasoningTokens: r.reasoningTokens,
    promptPrice: r.promptPrice.toString(),
    completionPrice: r.completionPrice.toString(),
    cost: r.cost.toString(),
    ttftMs: r.ttftMs,
    durationMs: r.durationMs,
    status: r.status,
    servedAt: r.servedAt.toString(),
  };
}

export class ReceiptWriter {
  private readonly db: Db;
  private queue: { r: StoredReceipt; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private flushing: Promise<void> | null = null;
  constructor(db: Db) {
    this.db = db;
  }

  write(r: StoredReceipt): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ r, resolve, reject });
      if (!this.flushing) this.flushing = new Promise<void>((res) => setImmediate(res)).then(() => this.flush());
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      // Small statements: PGlite runs on this thread, and one huge INSERT would stall every stream.
      const batch = this.queue.splice(0, 64);
      const params: unknown[] = [];
      const tuples = batch.map(({ r }) => {
        const v = values(r);
        const start = params.length;
        params.push(...v);
        return `(${v.map((_, i) => `$${start + i + 1}`).join(",")})`;
      });
      try {
        await this.db.query(`INSERT INTO receipts (${COLUMNS.join(",")}) VALUES ${tuples.join(",")} ON CONFLICT (id) DO NOTHING`, params);
        for (const b of batch) b.resolve();
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
      if (this.queue.length > 0) await new Promise((r) => setImmediate(r));
    }
    this.flushing = null;
  }

  async idle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }
}
