/**
 * A batch's receipts tree built beside the streams, not instead of them: leaf hashes (two keccaks
 * and an ABI encoding each, about 0.1 ms a receipt here) are computed in slices, yielding to the
 * event loop between slices, so a 5,000-receipt batch does not hold every stream for half a second.
 * The tree over the hashes (one keccak per node) is then built in one go.
 */
import type { Hex } from "viem";
import { receiptLeafHash, receiptTreeOfLeaves, type Receipt, type ReceiptTree } from "@tollgate/protocol";

/** Receipts hashed per slice: a few milliseconds of the event loop. */
const SLICE = 64;

export async function buildReceiptTree(receipts: readonly Receipt[]): Promise<ReceiptTree> {
  const leaves: Hex[] = new Array(receipts.length);
  for (let i = 0; i < receipts.length; i += SLICE) {
    if (i > 0) await new Promise((r) => setImmediate(r));
    const end = Math.min(receipts.length, i + SLICE);
    for (let j = i; j < end; j++) leaves[j] = receiptLeafHash(receipts[j]!);
  }
  return receiptTreeOfLeaves(leaves);
}
