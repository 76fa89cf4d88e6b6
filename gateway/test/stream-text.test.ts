/** The streamed text the gateway counts for its token cross-check: the fast read equals a full JSON parse. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { contentOf } from "../src/metering/sse-relay.ts";

const chunk = (delta: Record<string, unknown>) => JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: null }] });

describe("contentOf", () => {
  it("reads plain, escaped and unicode content like JSON.parse does", () => {
    for (const text of ["hello", "", 'say "hi"', "back\\slash", "line\nbreak\ttab", "emoji 🦙 and é", '{"content":"nested"}', "\u0000\u001f", "x\\"]) {
      assert.equal(contentOf(chunk({ content: text })), text, JSON.stringify(text));
    }
  });
  it("counts reasoning, completions' text and role-only chunks", () => {
    assert.equal(contentOf(chunk({ reasoning_content: "think", content: "say" })), "saythink");
    assert.equal(contentOf(JSON.stringify({ choices: [{ index: 0, text: "done" }] })), "done");
    assert.equal(contentOf(chunk({ role: "assistant" })), "");
    assert.equal(contentOf(chunk({ content: null })), "");
    assert.equal(contentOf("not json"), "");
  });
});
