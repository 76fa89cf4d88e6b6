/**
 * verifyReceipt's tree cache: a batch's tree is built once while its leaves stay the same, rebuilt
 * when they change (a reorg or a re-fetch), and only the most recent batches are kept.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { receiptTreeOfLeaves } from "@tollgate/protocol";
import { TreeCache } from "../src/graphql/tree-cache.ts";

const leaves = (n: number) => Array.from({ length: n }, () => `0x${randomBytes(32).toString("hex")}` as `0x${string}`).sort();

test("one build per batch while its leaves stay the same; a new tree when they change", () => {
  const cache = new TreeCache();
  const a = leaves(300);
  const first = cache.of("1:7", a);
  assert.equal(first.root, receiptTreeOfLeaves(a).root);
  assert.equal(cache.of("1:7", [...a].reverse()), first, "same leaves, in another order: the same tree, not rebuilt");
  assert.equal(cache.builds, 1);
  const changed = [...a.slice(1), ...leaves(1)].sort();
  const second = cache.of("1:7", changed);
  assert.notEqual(second.root, first.root);
  assert.equal(second.root, receiptTreeOfLeaves(changed).root);
  assert.equal(cache.builds, 2);
});

test("keeps the most recently used batches only", () => {
  const cache = new TreeCache();
  const batches = Array.from({ length: 9 }, (_, i) => [`1:${i}`, leaves(4)] as const);
  for (const [id, l] of batches.slice(0, 8)) cache.of(id, l);
  cache.of(batches[0]![0], batches[0]![1]); // batch 0 used again: now the most recent
  cache.of(batches[8]![0], batches[8]![1]); // a ninth batch evicts the least recently used (batch 1)
  const builds = cache.builds;
  cache.of(batches[0]![0], batches[0]![1]);
  assert.equal(cache.builds, builds, "batch 0 was kept");
  cache.of(batches[1]![0], batches[1]![1]);
  assert.equal(cache.builds, builds + 1, "batch 1 was evicted and is built again");
});
