/**
 * npm run bench:receipt-tree — the receipts tree of one batch, as the gateway's poster and receipts
 * route and the indexer's verifier build it (`receiptTree`), against OpenZeppelin's
 * `StandardMerkleTree.of` on the same receipts in the same run (the baseline; same root checked).
 *
 *   BENCH_RECEIPTS=5000 npm run bench:receipt-tree   (default 5,000: TOLLGATE_BATCH_MAX_RECEIPTS' default)
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { getAddress, toHex } from "viem";
import { RECEIPT_LEAF_TYPES, receiptCost, receiptId, receiptLeaf, receiptTree, RECEIPT_STATUS, type Receipt } from "../ts/index.ts";

const N = Number(process.env.BENCH_RECEIPTS ?? 5_000);
const address = (i: number) => getAddress(toHex(i, { size: 20 }));
const receipts: Receipt[] = Array.from({ length: N }, (_, i) => {
  const r = {
    id: receiptId(`req-${i}`),
    customer: address(1 + (i % 50)),
    provider: address(100 + (i % 7)),
    worker: address(200 + (i % 7)),
    model: toHex(7, { size: 32 }),
    promptTokens: 20 + (i % 900),
    cachedTokens: 0,
    completionTokens: 64 + (i % 300),
    reasoningTokens: 0,
    promptPrice: 200_000n,
    completionPrice: 600_000n,
    cost: 0n,
    ttftMs: 100 + (i % 50),
    durationMs: 1_400 + (i % 500),
    status: RECEIPT_STATUS.ok,
    servedAt: 1_800_000_000n + BigInt(i),
  };
  return { ...r, cost: receiptCost(r) };
});

function time<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const v = f();
  return [v, performance.now() - t0];
}

// One warm-up of each on a small batch (module and JIT warm-up is not what a batch costs).
receiptTree(receipts.slice(0, 50));
StandardMerkleTree.of(receipts.slice(0, 50).map(receiptLeaf), [...RECEIPT_LEAF_TYPES]);

const [ours, oursMs] = time(() => receiptTree(receipts));
const [reference, referenceMs] = time(() => StandardMerkleTree.of(receipts.map(receiptLeaf), [...RECEIPT_LEAF_TYPES]));
if (ours.root !== reference.root) throw new Error(`roots differ: ${ours.root} vs ${reference.root}`);
console.log(`receipts tree of ${N} receipts (same root, ${ours.root.slice(0, 10)}…):`);
console.log(`  receiptTree (viem encoding + the library's tree core): ${oursMs.toFixed(0)} ms, ${((1000 * oursMs) / N).toFixed(0)} µs a receipt`);
console.log(`  StandardMerkleTree.of (baseline):                       ${referenceMs.toFixed(0)} ms, ${((1000 * referenceMs) / N).toFixed(0)} µs a receipt`);
console.log(`receipt tree ms: ${oursMs.toFixed(0)}, baseline ms: ${referenceMs.toFixed(0)}, speed-up: ${(referenceMs / oursMs).toFixed(1)}x`);
