/**
 * The block-range walker both chain followers use: every block from the cursor to the head read
 * exactly once, in order, in bounded ranges; a stop or a failure leaves the rest for the next sync.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PublicClient } from "viem";
import { blockRanges, walkLogRanges } from "../src/shared/range-walker.ts";

/** A chain of `head` blocks whose getLogs answers one fake log per block in the range. */
function fakeClient(head: bigint, calls: [bigint, bigint][]): PublicClient {
  return {
    getBlockNumber: async () => head,
    getLogs: async ({ fromBlock, toBlock }: { fromBlock: bigint; toBlock: bigint }) => {
      calls.push([fromBlock, toBlock]);
      const out = [];
      for (let b = fromBlock; b <= toBlock; b++) out.push({ blockNumber: b, eventName: "X", args: {} });
      return out;
    },
  } as unknown as PublicClient;
}

describe("block-range walker", () => {
  it("covers from..head in ranges of at most 2,000 blocks, with no gap and no overlap", () => {
    assert.deepEqual([...blockRanges(10n, 4_010n)], [[10n, 2_009n], [2_010n, 4_009n], [4_010n, 4_010n]]);
    assert.deepEqual([...blockRanges(5n, 5n)], [[5n, 5n]]);
    assert.deepEqual([...blockRanges(6n, 5n)], [], "nothing new");
  });

  it("hands every block's logs over once, in order, and reports the last block applied", async () => {
    const calls: [bigint, bigint][] = [];
    const seen: bigint[] = [];
    const r = await walkLogRanges({ client: fakeClient(4_500n, calls), address: "0x0000000000000000000000000000000000000001", events: [], from: 1n, onRange: async ({ logs }) => void seen.push(...logs.map((l) => l.blockNumber!)) });
    assert.deepEqual(r, { latest: 4_500n, applied: 4_500n });
    assert.equal(seen.length, 4_500);
    assert.ok(seen.every((b, i) => b === BigInt(i + 1)));
    assert.equal(calls.length, 3);
  });

  it("stops between ranges when told, and a failing range ends the walk without skipping it", async () => {
    let n = 0;
    const stopped = await walkLogRanges({ client: fakeClient(10_000n, []), address: [], events: [], from: 0n, stopped: () => n >= 2, onRange: async () => void n++ });
    assert.deepEqual(stopped, { latest: 10_000n, applied: 3_999n }, "two ranges applied, then stopped");
    const applied: bigint[] = [];
    await assert.rejects(
      walkLogRanges({ client: fakeClient(10_000n, []), address: [], events: [], from: 0n, onRange: async ({ to }) => { if (to > 2_000n) throw new Error("db down"); applied.push(to); } }),
      /db down/,
    );
    assert.deepEqual(applied, [1_999n], "the failed range is not counted as applied");
  });
});
