/**
 * A batch's receipts tree, built beside the streams, not instead of them. For 5,000 receipts (the
 * default TOLLGATE_BATCH_MAX_RECEIPTS) the leaf hashes (two keccaks and an ABI encoding each) and
 * the tree take about 0.6 s of CPU: on the event loop that relays every stream, even in slices, the
 * tree alone held it for ~95 ms at a time. So the work runs on a thread of its own; the event loop
 * only posts the receipts and receives the tree. Should that thread die, the tree is built here,
 * the leaf hashes 64 at a time, yielding to the streams between slices.
 */
import type { Hex } from "viem";
import { receiptLeafHash, receiptTreeOfLeaves, type Receipt, type ReceiptTree } from "@tollgate/protocol";
import { JobThread } from "../shared/job-thread.ts";

/** Receipts hashed per slice when built on the event loop: a few milliseconds. */
const SLICE = 64;

export async function buildReceiptTreeInSlices(receipts: readonly Receipt[]): Promise<ReceiptTree> {
  const leaves: Hex[] = new Array(receipts.length);
  for (let i = 0; i < receipts.length; i += SLICE) {
    if (i > 0) await new Promise((r) => setImmediate(r));
    const end = Math.min(receipts.length, i + SLICE);
    for (let j = i; j < end; j++) leaves[j] = receiptLeafHash(receipts[j]!);
  }
  return receiptTreeOfLeaves(leaves);
}

// One thread for the process: batches are built one at a time, and it does not keep the process alive while idle.
const trees = new JobThread<readonly Receipt[], ReceiptTree>(new URL("./receipt-tree-thread.ts", import.meta.url), buildReceiptTreeInSlices);

export function buildReceiptTree(receipts: readonly Receipt[]): Promise<ReceiptTree> {
  return trees.run(receipts);
}

/** Trees sent to the thread since start, and how many of them were built on the event loop after all. */
export function receiptTreeThreadStats(): { sent: number; inlined: number } {
  return { sent: trees.sent, inlined: trees.inlined };
}
