import { test } from "node:test";
import assert from "node:assert/strict";
import { countTextTokens, encodeText } from "@tollgate/protocol/tokens";

// countTextTokens(text, limit) takes a plain encode on text of at most 4 × limit characters and a
// bounded count beyond: both must agree with the exact count, and say Infinity only above the limit.
const sentence = "The gateway counts what the worker generated, token by token, and compares. ";
const exact = (t: string) => encodeText(t).length;

test("a count within the limit is exact, whichever way it is taken", () => {
  for (const reps of [1, 5, 40]) {
    const text = sentence.repeat(reps);
    const n = exact(text);
    assert.equal(countTextTokens(text), n);
    assert.equal(countTextTokens(text, n), n, "limit equal to the count");
    assert.equal(countTextTokens(text, 2 * n), n, "twice the count, as the gateway's output count uses");
    assert.equal(countTextTokens(text, n + 1000), n, "a limit far above (encode path)");
  }
});

test("a count above the limit is Infinity on both paths", () => {
  const text = sentence.repeat(40);
  const n = exact(text);
  assert.equal(countTextTokens(text, n - 1), Infinity, "encode path: 4 × limit ≥ length");
  assert.ok(text.length > 4 * 10);
  assert.equal(countTextTokens(text, 10), Infinity, "bounded path: text far longer than 4 × limit");
  assert.equal(countTextTokens("", 0), 0);
  assert.equal(countTextTokens("hi", 0), Infinity);
});
