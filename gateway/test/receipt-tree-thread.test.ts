/**
 * The gateway builds a batch's receipts tree on a thread of its own: the same root, proofs and
 * index as the protocol's receiptTree built inline, and the same again when that thread has died.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { getAddress, type Hex } from "viem";
import { receiptProof, receiptTree, verifyReceiptProof, type Receipt } from "@tollgate/protocol";
import { buildReceiptTree, buildReceiptTreeInSlices, receiptTreeThreadStats } from "../src/settlement/receipt-tree.ts";

const hex = (bytes: number) => `0x${randomBytes(bytes).toString("hex")}` as Hex;
const receipt = (i: number): Receipt => ({
  id: hex(32),
  customer: getAddress(hex(20)),
  provider: getAddress(hex(20)),
  worker: getAddress(hex(20)),
  model: hex(32),
  promptTokens: i,
  cachedTokens: 0,
  completionTokens: 2 * i,
  reasoningTokens: 0,
  promptPrice: 100_000n,
  completionPrice: 400_000n,
  cost: BigInt(i) * 900_000n,
  ttftMs: 120 + i,
  durationMs: 1_400 + i,
  status: 0,
  servedAt: 1_800_000_000n + BigInt(i),
});

describe("receipts tree on its thread", () => {
  it("equals the tree built inline: root, index and proofs", async () => {
    const receipts = Array.from({ length: 300 }, (_, i) => receipt(i));
    const [viaThread, inline, sliced] = await Promise.all([buildReceiptTree(receipts), Promise.resolve(receiptTree(receipts)), buildReceiptTreeInSlices(receipts)]);
    assert.equal(viaThread.root, inline.root);
    assert.equal(sliced.root, inline.root);
    assert.deepEqual(viaThread.nodes, inline.nodes);
    assert.deepEqual([...viaThread.index], [...inline.index]);
    for (const r of [receipts[0]!, receipts[137]!, receipts[299]!]) {
      const proof = receiptProof(viaThread, r);
      assert.deepEqual(proof, receiptProof(inline, r));
      assert.ok(verifyReceiptProof(viaThread.root, r, proof));
    }
  });

  it("builds concurrent batches one after another, each its own tree", async () => {
    const batches = [10, 1, 250].map((n) => Array.from({ length: n }, (_, i) => receipt(i)));
    const trees = await Promise.all(batches.map(buildReceiptTree));
    trees.forEach((t, i) => assert.equal(t.root, receiptTree(batches[i]!).root));
    assert.deepEqual(receiptTreeThreadStats(), { sent: 4, inlined: 0 }, "all four trees of this file were built on the thread");
  });
});
