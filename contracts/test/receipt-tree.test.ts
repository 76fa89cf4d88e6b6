/**
 * The receipts tree is computed with viem's encoder and the library's tree core instead of
 * `StandardMerkleTree.of` (whose encoder costs about 1 ms a receipt): it must agree with the
 * library's StandardMerkleTree leaf for leaf, root for root and proof for proof, on random receipts
 * up to every field's largest value. (protocol.test.ts proves the same trees against the contract.)
 */
import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import { describe, it } from "node:test";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { getAddress, toHex, type Hex } from "viem";
import { proofOfLeaf, RECEIPT_LEAF_TYPES, receiptLeaf, receiptLeafHash, receiptProof, receiptTree, verifyReceiptProof, type Receipt } from "../ts/index.ts";

const hex = (bytes: number) => toHex(randomBytes(bytes));
const uint = (bits: number, max: boolean) => (max ? 2n ** BigInt(bits) - 1n : BigInt(hex(Math.ceil(bits / 8))) % 2n ** BigInt(bits));

function randomReceipt(max = false): Receipt {
  const n32 = () => Number(uint(32, max));
  return {
    id: hex(32),
    customer: getAddress(hex(20)),
    provider: getAddress(hex(20)),
    worker: getAddress(hex(20)),
    model: hex(32) as Hex,
    promptTokens: n32(),
    cachedTokens: n32(),
    completionTokens: n32(),
    reasoningTokens: n32(),
    promptPrice: uint(48, max),
    completionPrice: uint(48, max),
    cost: uint(128, max),
    ttftMs: n32(),
    durationMs: n32(),
    status: max ? 255 : randomInt(0, 4),
    servedAt: uint(64, max),
  };
}

describe("the receipts tree agrees with OpenZeppelin's StandardMerkleTree", () => {
  it("leaf hashes, roots and proofs, for trees of 1 to 100 receipts", () => {
    for (const size of [1, 2, 3, 7, 64, 100]) {
      const receipts = Array.from({ length: size }, (_, i) => randomReceipt(i === 0));
      const reference = StandardMerkleTree.of(receipts.map(receiptLeaf), [...RECEIPT_LEAF_TYPES]);
      const tree = receiptTree(receipts);
      assert.equal(tree.root, reference.root, `root of ${size}`);
      for (const r of receipts) {
        assert.equal(receiptLeafHash(r), reference.leafHash(receiptLeaf(r)));
        const proof = receiptProof(tree, r);
        assert.deepEqual(proof, reference.getProof(receiptLeaf(r)));
        assert.ok(verifyReceiptProof(tree.root, r, proof));
      }
    }
  });

  it("orders nothing by input: the same receipts shuffled give the same root", () => {
    const receipts = Array.from({ length: 20 }, () => randomReceipt());
    assert.equal(receiptTree([...receipts].reverse()).root, receiptTree(receipts).root);
  });

  it("has no proof for a receipt outside it, and a changed field no longer verifies", () => {
    const receipts = Array.from({ length: 5 }, () => randomReceipt());
    const tree = receiptTree(receipts);
    assert.throws(() => receiptProof(tree, randomReceipt()), /not in this tree/);
    assert.equal(proofOfLeaf(tree, receiptLeafHash(randomReceipt())), null);
    const proof = receiptProof(tree, receipts[2]!);
    assert.deepEqual(proofOfLeaf(tree, receiptLeafHash(receipts[2]!).toUpperCase().replace("0X", "0x") as `0x${string}`), proof, "by leaf hash, in either case");
    assert.equal(verifyReceiptProof(tree.root, { ...receipts[2]!, completionTokens: receipts[2]!.completionTokens + 1 }, proof), false);
  });
});
