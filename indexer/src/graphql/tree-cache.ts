/**
 * Receipts trees of recently queried batches, for verifyReceipt. Building a batch's tree over its
 * stored leaf hashes takes about 95 ms for 5,000 receipts, on the event loop that serves every
 * query: an auditor checking a batch receipt by receipt paid that for each one. A tree is kept
 * under its leaves themselves (the batch and its sorted leaf hashes), so a batch whose stored
 * receipts changed (a reorg, a re-fetch) gets a new tree, never a stale one.
 */
import { receiptTreeOfLeaves, type ReceiptTree } from "@tollgate/protocol";

/** Batches kept: a 5,000-receipt tree with its index is about 3 MB. */
const MAX_BATCHES = 8;

export class TreeCache {
  private readonly trees = new Map<string, { leaves: string; tree: ReceiptTree }>();
  /** Trees built since start (for tests). */
  builds = 0;

  /** The tree over a batch's leaf hashes, in any order. */
  of(batch: string, leafHashes: readonly `0x${string}`[]): ReceiptTree {
    const sortedLeaves = [...leafHashes].sort();
    const leaves = sortedLeaves.join("");
    const hit = this.trees.get(batch);
    if (hit && hit.leaves === leaves) {
      // Most recently used last: Map keeps insertion order, the first key is the one to evict.
      this.trees.delete(batch);
      this.trees.set(batch, hit);
      return hit.tree;
    }
    const tree = receiptTreeOfLeaves(sortedLeaves);
    this.builds++;
    this.trees.delete(batch);
    this.trees.set(batch, { leaves, tree });
    if (this.trees.size > MAX_BATCHES) this.trees.delete(this.trees.keys().next().value!);
    return tree;
  }
}
