/** Published receipts: a batch's receipts (for auditors and the indexer) and one receipt with its proof. */
import type { FastifyInstance } from "fastify";
import type { Hex } from "viem";
import { receiptProof, type ReceiptTree } from "@tollgate/protocol";
import { buildReceiptTree } from "../settlement/receipt-tree.ts";
import type { Ctx } from "../context.ts";
import { receiptJson, rowToReceipt, type StoredReceipt } from "../metering/receipts.ts";
import { notFound } from "../shared/errors.ts";

const MAX_BATCH_ID = 2n ** 63n - 1n;

export function receiptRoutes(ctx: Ctx) {
  // Promises, so concurrent requests for one batch share one build.
  const trees = new Map<string, Promise<{ tree: ReceiptTree; receipts: StoredReceipt[] }>>();
  async function loadBatch(key: string) {
    // The poster's order (settlement/poster.ts): aggregateEntries over this list then rebuilds the
    // batch's entries in the order they were signed, so anyone can recompute its entriesHash.
    // Members, not receipts.batch_id: a receipt collected later by another batch stays in this one.
    const rows = await ctx.db.query(`SELECT r.* FROM batch_receipts m JOIN receipts r ON r.id = m.receipt_id WHERE m.batch_id = $1 ORDER BY r.created_ms, r.id`, [key]);
    const receipts = rows.map(rowToReceipt);
    return { tree: await buildReceiptTree(receipts), receipts };
  }
  function batchReceipts(id: bigint) {
    const key = id.toString();
    const hit = trees.get(key);
    if (hit) return hit;
    const v = loadBatch(key);
    v.catch(() => trees.delete(key));
    if (trees.size > 64) trees.delete(trees.keys().next().value!);
    trees.set(key, v);
    return v;
  }
  async function postedBatch(id: bigint) {
    const rows = await ctx.db.query(`SELECT id, root, state, tx_hash FROM batches WHERE id = $1 AND state IN ('mined', 'settled')`, [id.toString()]);
    return rows[0] ?? null;
  }
  return async (app: FastifyInstance) => {
    app.get<{ Params: { id: string } }>("/v1/batches/:id/receipts", async (req, reply) => {
      if (!/^\d{1,19}$/.test(req.params.id)) return reply.code(400).send({ error: { message: "batch id is a number", type: "invalid_request_error", param: null, code: "invalid_request" } });
      const id = BigInt(req.params.id);
      // Batch ids are a PostgreSQL bigint: a larger number is no batch (not a failed query).
      const batch = id <= MAX_BATCH_ID ? await postedBatch(id) : null;
      if (!batch) {
        const e = notFound("no posted batch with this id", "batch_not_found");
        return reply.code(404).send(e.body());
      }
      const { receipts, tree } = await batchReceipts(id);
      return { gatewayId: ctx.config.gatewayId, batchId: id.toString(), receiptsRoot: tree.root, txHash: batch.tx_hash, receipts: receipts.map(receiptJson) };
    });
    app.get<{ Params: { id: string } }>("/v1/receipts/:id", async (req, reply) => {
      if (!/^0x[0-9a-fA-F]{64}$/.test(req.params.id)) return reply.code(400).send({ error: { message: "receipt id is 32 bytes of hex", type: "invalid_request_error", param: null, code: "invalid_request" } });
      const rows = await ctx.db.query(`SELECT * FROM receipts WHERE id = $1`, [req.params.id.toLowerCase()]);
      if (!rows[0]) return reply.code(404).send(notFound("no such receipt", "receipt_not_found").body());
      const r = rowToReceipt(rows[0]);
      const out: Record<string, unknown> = { receipt: receiptJson(r), batch: null, proof: null, batches: [] };
      // Every posted batch that committed to this receipt: usually one; two when its entry was
      // skipped for lack of balance and a later batch charged it (batch_receipts). `batch` and
      // `proof` are the one that charges it (receipts.batch_id).
      const member = await ctx.db.query(`SELECT batch_id FROM batch_receipts WHERE receipt_id = $1 ORDER BY batch_id`, [r.id]);
      const all: Record<string, unknown>[] = [];
      for (const m of member) {
        const id = BigInt(String(m.batch_id));
        const batch = await postedBatch(id);
        if (!batch) continue;
        const { tree } = await batchReceipts(id);
        const entry = {
          batch: { gatewayId: ctx.config.gatewayId, batchId: id.toString(), receiptsRoot: batch.root as Hex, txHash: batch.tx_hash, settled: batch.state === "settled" },
          proof: receiptProof(tree, r),
        };
        all.push(entry);
        if (r.batchId === id) Object.assign(out, entry);
      }
      out.batches = all;
      return out;
    });
  };
}
