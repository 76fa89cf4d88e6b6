import { describe, expect, it } from "vitest";
import { receiptCost, receiptFromJson, receiptId, receiptProof, receiptTree, verifyReceiptProof, type Receipt } from "@tollgate/protocol/receipts";
import { modelId } from "@tollgate/protocol/models";

const receipt = (i: number): Receipt => {
  const r = {
    id: receiptId(`req-${i}`),
    customer: `0x${"1".repeat(40)}` as const,
    provider: `0x${"2".repeat(40)}` as const,
    worker: `0x${"3".repeat(40)}` as const,
    model: modelId("sim-llama-3.1-8b-instruct"),
    promptTokens: 100 * i,
    cachedTokens: 0,
    completionTokens: 30 * i,
    reasoningTokens: 0,
    promptPrice: 200_000n,
    completionPrice: 600_000n,
    cost: 0n,
    ttftMs: 80,
    durationMs: 400,
    status: 0,
    servedAt: 1_800_000_000n + BigInt(i),
  };
  return { ...r, cost: receiptCost(r) };
};
/** What GET /v1/receipts/:id answers: bigints as decimal strings, plus fields outside the leaf. */
const published = (r: Receipt) =>
  JSON.parse(JSON.stringify({ ...r, requestId: "req", modelName: "sim-llama-3.1-8b-instruct" }, (_, v) => (typeof v === "bigint" ? v.toString() : v)));

describe("a receipt as the gateway publishes it", () => {
  const receipts = [receipt(1), receipt(2), receipt(3)];
  const tree = receiptTree(receipts);

  it("reads back to the receipt whose proof matches the batch root", () => {
    const parsed = receiptFromJson(published(receipts[1]!));
    expect(parsed).toEqual(receipts[1]);
    expect(verifyReceiptProof(tree.root as `0x${string}`, parsed, receiptProof(tree, receipts[1]!))).toBe(true);
  });

  it("takes servedAt as a number, as the indexer's GraphQL Int carries it", () => {
    expect(receiptFromJson({ ...published(receipts[0]!), servedAt: 1_800_000_001 }).servedAt).toBe(1_800_000_001n);
  });

  it("refuses a malformed receipt, naming the field", () => {
    const j = published(receipts[0]!);
    expect(() => receiptFromJson({ ...j, cost: "1.5" })).toThrow(/"cost"/);
    expect(() => receiptFromJson({ ...j, promptTokens: -1 })).toThrow(/"promptTokens"/);
    expect(() => receiptFromJson({ ...j, model: "sim-llama-3.1-8b-instruct" })).toThrow(/"model"/);
  });
});
