/**
 * The batch poster: every epoch (or once enough receipts wait) it aggregates unbatched receipts into
 * entries, builds the receipts tree, signs the batch (EIP-712) and submits `Settlement.settleBatch`.
 *
 * Exactly once: the batch (id, entries, root, signature, its receipts) is committed to the database
 * BEFORE it is sent. On start and before every new batch the poster compares its open batches with
 * the chain (`nextBatchId`, `batchOf`): a batch the chain already holds is marked mined, the one the
 * chain expects next is (re)sent — re-signed with a fresh deadline if needed, never with other
 * contents — and the chain refuses any replay. Only one replica posts (advisory lock).
 */
import type { Hex } from "viem";
import { aggregateEntries, settlementAbi, signBatch, type Batch, type BatchEntry } from "@tollgate/protocol";
import type { Ctx } from "../context.ts";
import { big } from "../store/db.ts";
import { rowToReceipt, type StoredReceipt } from "../metering/receipts.ts";
import { entriesJson, parseEntries } from "./follower.ts";
import { buildReceiptTree } from "./receipt-tree.ts";

/** How long a sent transaction of the signer is waited for before the attempt counts as failed and is retried (the arrears keeper waits as long). */
export const TX_RECEIPT_TIMEOUT_MS = 120_000;
const MAX_ENTRIES = 512;
export type PosterStage = "persisted" | "sent";

export type BatchRow = { id: bigint; root: Hex; receiptCount: number; deadline: bigint; entries: BatchEntry[]; signature: Hex; state: string; txHash: Hex | null };

function toBatchRow(r: Record<string, unknown>): BatchRow {
  return {
    id: big(r.id),
    root: String(r.root) as Hex,
    receiptCount: Number(r.receipt_count),
    deadline: big(r.deadline),
    entries: parseEntries(r.entries),
    signature: String(r.signature) as Hex,
    state: String(r.state),
    txHash: r.tx_hash ? (String(r.tx_hash) as Hex) : null,
  };
}

export class BatchPoster {
  private readonly ctx: Ctx;
  private readonly onStage?: (stage: PosterStage, batchId: bigint) => Promise<void>;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private running: Promise<void> | null = null;
  private lastBatchAt = Date.now();
  private backoffMs = 0;
  constructor(ctx: Ctx, onStage?: (stage: PosterStage, batchId: bigint) => Promise<void>) {
    this.ctx = ctx;
    this.onStage = onStage;
  }

  start(): void {
    const loop = async () => {
      if (this.stopped) return;
      try {
        await this.tick();
        this.backoffMs = 0;
      } catch (err) {
        this.backoffMs = Math.min(60_000, Math.max(500, this.backoffMs * 2));
        this.ctx.metrics.batches.inc({ outcome: "error" });
        this.ctx.log.warn({ err: (err as Error).message, retryInMs: this.backoffMs }, "batch poster: attempt failed");
      }
      if (!this.stopped) this.timer = setTimeout(loop, Math.max(this.backoffMs, Math.min(1000, this.ctx.config.epochMs / 4)));
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => {});
  }

  /** One step: reconcile open batches with the chain, then close a new batch if one is due. */
  async tick(force = false): Promise<void> {
    while (this.running) await this.running.catch(() => {});
    this.running = this.doTick(force).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async doTick(force: boolean): Promise<void> {
    if (!this.ctx.isLeader()) return;
    const hadOpen = await this.reconcile();
    if (this.stopped) return;
    if (hadOpen) {
      const open = await this.ctx.db.query(`SELECT 1 FROM batches WHERE state IN ('signed', 'sent') LIMIT 1`);
      if (open.length > 0) return;
    }
    // Counted up to a full batch only (on the partial index of unbatched receipts): this runs every
    // tick, and a backlog makes a full COUNT(*) grow with it.
    const { batchMaxReceipts } = this.ctx.config;
    const waiting = await this.ctx.db.query(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM receipts WHERE batch_id IS NULL AND status <> 3 LIMIT $1) AS w`, [batchMaxReceipts]);
    const n = Number(waiting[0]?.n ?? 0);
    if (n === 0) return;
    if (!force && n < batchMaxReceipts && Date.now() - this.lastBatchAt < this.ctx.config.epochMs) return;
    const batch = await this.createBatch();
    this.lastBatchAt = Date.now();
    if (batch) await this.send(batch);
  }

  /** The chain's clock decides a deadline, not this machine's. */
  private async chainNow(): Promise<bigint> {
    const block = await this.ctx.publicClient.getBlock({ blockTag: "latest" });
    return block.timestamp;
  }

  private nextBatchIdOnChain(): Promise<bigint> {
    const { config, publicClient } = this.ctx;
    return publicClient.readContract({ address: config.settlement, abi: settlementAbi, functionName: "nextBatchId", args: [config.gatewayId] });
  }

  /** Compare every open batch with the chain; send the one it expects next. Whether there was any. */
  async reconcile(): Promise<boolean> {
    const { db, config, publicClient, log } = this.ctx;
    const rows = (await db.query(`SELECT * FROM batches WHERE state IN ('signed', 'sent') ORDER BY id`)).map(toBatchRow);
    if (rows.length === 0) return false;
    const next = await this.nextBatchIdOnChain();
    for (const b of rows) {
      if (b.id < next) {
        const rec = await publicClient.readContract({ address: config.settlement, abi: settlementAbi, functionName: "batchOf", args: [config.gatewayId, b.id] });
        if ((rec as { receiptsRoot: Hex }).receiptsRoot.toLowerCase() === b.root.toLowerCase()) {
          await db.query(`UPDATE batches SET state = 'mined' WHERE id = $1 AND state IN ('signed', 'sent')`, [b.id.toString()]);
        } else {
          // Another process posted this id with other contents: release our receipts for a later batch.
          log.error({ batchId: b.id.toString() }, "batch id taken on-chain by a different batch; re-batching its receipts");
          await this.abandon(b.id);
        }
      } else if (b.id === next) {
        await this.send(b);
        return true; // later ones (there should be none) wait for the next reconcile
      } else {
        log.error({ batchId: b.id.toString(), chainNext: next.toString() }, "batch id ahead of the chain; re-batching its receipts");
        await this.abandon(b.id);
      }
    }
    return true;
  }

  private async abandon(id: bigint): Promise<void> {
    await this.ctx.db.tx(async (q) => {
      await q.query(`UPDATE receipts SET batch_id = NULL WHERE batch_id = $1`, [id.toString()]);
      await q.query(`DELETE FROM batch_receipts WHERE batch_id = $1`, [id.toString()]);
      await q.query(`UPDATE batches SET state = 'abandoned' WHERE id = $1`, [id.toString()]);
    });
  }

  private async createBatch(): Promise<BatchRow | null> {
    const { db, config, signer } = this.ctx;
    const rows = await db.query(`SELECT * FROM receipts WHERE batch_id IS NULL AND status <> 3 ORDER BY created_ms, id LIMIT $1`, [config.batchMaxReceipts]);
    const receipts: StoredReceipt[] = [];
    const keys = new Set<string>();
    for (const row of rows) {
      const r = rowToReceipt(row);
      const k = `${r.customer}|${r.provider}|${r.model}|${r.promptPrice}|${r.completionPrice}`.toLowerCase();
      if (!keys.has(k) && keys.size >= MAX_ENTRIES) continue;
      keys.add(k);
      receipts.push(r);
    }
    if (receipts.length === 0) return null;
    const batchId = await this.nextBatchIdOnChain();
    const entries = aggregateEntries(receipts);
    const tree = await buildReceiptTree(receipts);
    const deadline = (await this.chainNow()) + BigInt(config.batchDeadlineSec);
    const batch: Batch = { gatewayId: config.gatewayId, batchId, receiptsRoot: tree.root as Hex, receiptCount: receipts.length, deadline, entries };
    const signature = await signBatch(signer, batch, config.chainId, config.settlement);
    await db.tx(async (q) => {
      await q.query(
        `INSERT INTO batches (id, root, receipt_count, deadline, entries, signature, state, created_ms) VALUES ($1,$2,$3,$4,$5,$6,'signed',$7)`,
        [batchId.toString(), batch.receiptsRoot, receipts.length, deadline.toString(), entriesJson(entries), signature, Date.now()],
      );
      const ids = receipts.map((r) => r.id);
      await q.query(`UPDATE receipts SET batch_id = $1 WHERE id = ANY($2::text[]) AND batch_id IS NULL`, [batchId.toString(), ids]);
      await q.query(`INSERT INTO batch_receipts (batch_id, receipt_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, [batchId.toString(), ids]);
    });
    this.ctx.log.info({ batchId: batchId.toString(), receipts: receipts.length, entries: entries.length }, "batch persisted");
    const row: BatchRow = { id: batchId, root: batch.receiptsRoot, receiptCount: receipts.length, deadline, entries, signature, state: "signed", txHash: null };
    await this.onStage?.("persisted", batchId);
    return row;
  }

  /** Send (or resend) a persisted batch; its contents never change, only an expired signature is renewed. */
  private async send(b: BatchRow): Promise<void> {
    const { db, config, publicClient, walletClient, signer, log } = this.ctx;
    const now = await this.chainNow();
    let { deadline, signature } = b;
    if (deadline < now + 30n) {
      deadline = now + BigInt(config.batchDeadlineSec);
      const batch: Batch = { gatewayId: config.gatewayId, batchId: b.id, receiptsRoot: b.root, receiptCount: b.receiptCount, deadline, entries: b.entries };
      signature = await signBatch(signer, batch, config.chainId, config.settlement);
      await db.query(`UPDATE batches SET deadline = $2, signature = $3 WHERE id = $1`, [b.id.toString(), deadline.toString(), signature]);
    }
    const batch: Batch = { gatewayId: config.gatewayId, batchId: b.id, receiptsRoot: b.root, receiptCount: b.receiptCount, deadline, entries: b.entries };
    const hash = await walletClient.writeContract({
      address: config.settlement,
      abi: settlementAbi,
      functionName: "settleBatch",
      args: [batch as never, signature],
      account: signer,
      chain: null,
    });
    await db.query(`UPDATE batches SET state = 'sent', tx_hash = $2, attempts = attempts + 1 WHERE id = $1 AND state IN ('signed', 'sent')`, [b.id.toString(), hash]);
    await this.onStage?.("sent", b.id);
    const receipt = await publicClient.waitForTransactionReceipt({ hash, timeout: TX_RECEIPT_TIMEOUT_MS });
    if (receipt.status === "success") {
      await db.query(`UPDATE batches SET state = 'mined' WHERE id = $1 AND state IN ('signed', 'sent')`, [b.id.toString()]);
      this.ctx.metrics.batches.inc({ outcome: "mined" });
      log.info({ batchId: b.id.toString(), tx: hash }, "batch mined");
    } else {
      this.ctx.metrics.batches.inc({ outcome: "reverted" });
      throw new Error(`settleBatch ${b.id} reverted in ${hash}`);
    }
  }

  async batch(id: bigint): Promise<BatchRow | null> {
    const rows = await this.ctx.db.query(`SELECT * FROM batches WHERE id = $1`, [id.toString()]);
    return rows[0] ? toBatchRow(rows[0]) : null;
  }
}
