/**
 * The gateway's reading of a worker's SSE stream: the client gets exactly the events it would get
 * from a full parse, the usage chunk and [DONE] are held back for the gateway, and the counted text
 * is the same whether a chunk took the raw-bytes path or the text path.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { scanPlainEvents, SseRelay } from "../src/metering/sse-relay.ts";

const plainEvents = (chunk: Buffer) => scanPlainEvents(chunk, []) >= 0;

const tokenEvent = (content: string) => `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
const usageEvent = `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: "m", choices: [], usage: { prompt_tokens: 7, completion_tokens: 3 }, tollgate_usage_source: "runtime" })}\n\n`;
const out = (x: Buffer | string) => (typeof x === "string" ? x : x.toString("utf8"));

/** Feeds the stream in the given pieces; returns what the client received and the relay. */
function relayed(pieces: (string | Buffer)[]): { sent: string; relay: SseRelay; raw: number } {
  const relay = new SseRelay();
  let sent = "";
  let raw = 0;
  for (const p of pieces) {
    const chunk = typeof p === "string" ? Buffer.from(p) : p;
    const o = relay.push(chunk);
    if (o === chunk) raw++;
    sent += out(o);
  }
  sent += relay.end();
  return { sent, relay, raw };
}

describe("scanPlainEvents", () => {
  it("accepts whole one-line data objects only", () => {
    assert.equal(plainEvents(Buffer.from(tokenEvent("a"))), true);
    assert.equal(plainEvents(Buffer.from(tokenEvent("a") + tokenEvent("b"))), true);
    assert.equal(plainEvents(Buffer.from(tokenEvent("a").slice(0, -1))), false, "event not finished");
    assert.equal(plainEvents(Buffer.from(usageEvent)), false, "usage is the gateway's to read");
    assert.equal(plainEvents(Buffer.from('data: {"error":{"message":"x"}}\n\n')), false);
    assert.equal(plainEvents(Buffer.from("data: [DONE]\n\n")), false);
    assert.equal(plainEvents(Buffer.from(": keep-alive\n\n")), false);
    assert.equal(plainEvents(Buffer.from('event: x\ndata: {"a":1}\n\n')), false);
    assert.equal(plainEvents(Buffer.from('data: {"a":1}\ndata: {"b":2}\n\n')), false, "two lines in one event");
    assert.equal(plainEvents(Buffer.from(tokenEvent("a") + "data: [DONE]\n\n")), false);
  });
});

describe("SseRelay", () => {
  it("forwards whole token chunks as the bytes received and keeps usage and [DONE] back", () => {
    const tokens = ["Hel", "lo", " wörld", " 🦙"];
    const { sent, relay, raw } = relayed([...tokens.map(tokenEvent), usageEvent + "data: [DONE]\n\n"]);
    assert.equal(raw, tokens.length, "every token chunk took the raw path");
    assert.equal(sent, tokens.map(tokenEvent).join(""));
    assert.equal(relay.done, true);
    assert.equal(relay.upstreamError, false);
    assert.deepEqual(relay.usage, { prompt: 7, completion: 3, cached: 0, reasoning: 0, source: "runtime" });
    assert.ok(relay.usageLine && !relay.usageLine.includes("tollgate_usage_source"), "the worker's own field is stripped");
    assert.equal(relay.text(), tokens.join(""));
  });

  it("gives the same text and output when events and characters are split across chunks", () => {
    const stream = Buffer.from(["é🦙 one", "two", "three 中文"].map(tokenEvent).join("") + usageEvent + "data: [DONE]\n\n");
    const whole = relayed([stream]);
    for (const cut of [1, 5, 40, 41, 42, 43, 44, 100, stream.length - 3]) {
      const split = relayed([stream.subarray(0, cut), stream.subarray(cut)]);
      assert.equal(split.sent, whole.sent, `cut at ${cut}`);
      assert.equal(split.relay.text(), whole.relay.text(), `cut at ${cut}`);
      assert.deepEqual(split.relay.usage, whole.relay.usage);
    }
    assert.equal(whole.relay.text(), "é🦙 onetwothree 中文");
  });

  it("returns to the raw path once an event that was split has ended", () => {
    const a = tokenEvent("first");
    const { raw, relay } = relayed([a.slice(0, 10), a.slice(10), tokenEvent("second"), tokenEvent("third")]);
    assert.equal(raw, 2);
    assert.equal(relay.text(), "firstsecondthird");
  });

  it("drops an error event and marks the stream, passes comments by, reads a last event without its blank line", () => {
    const { sent, relay } = relayed([": keep-alive\n\n", tokenEvent("x"), 'data: {"error":{"message":"boom","code":"upstream_failed"}}\n\n', "data: [DONE]"]);
    assert.equal(sent, tokenEvent("x"));
    assert.equal(relay.upstreamError, true);
    assert.equal(relay.done, true);
  });

  it("reads the text of every kind of event alike, one event per chunk or all in one", () => {
    const events = [
      tokenEvent('line\nwith "quotes" and \\ a backslash'),
      tokenEvent("plain"),
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: { reasoning_content: "think", content: "ing" } }] })}\n\n`, // content first, as chunkText reads
      `data: ${JSON.stringify({ choices: [{ index: 0, text: "legacy" }] })}\n\n`,
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: "a" } }, { index: 1, delta: { content: "b" } }] })}\n\n`,
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: { role: "assistant" } }] })}\n\n`,
      'data: {"choices":[{"index":0,"delta":{"content": "spaced"}}]}\n\n',
      'data: {"choices":[{"index":0,"delta":{"content":"raw\ttab"}}]}\n\n', // a control character JSON forbids: still counted
      tokenEvent("é🦙 中文"),
      tokenEvent('keys inside a value: "usage": 1, "content":"x", "text":"y"'), // escaped there: still one plain event
    ];
    const expected = 'line\nwith "quotes" and \\ a backslash' + "plain" + "ingthink" + "legacy" + "ab" + "" + "spaced" + "raw\ttab" + "é🦙 中文" + 'keys inside a value: "usage": 1, "content":"x", "text":"y"';
    const apart = relayed(events);
    const together = relayed([events.join("")]);
    assert.equal(apart.raw, events.length, "each chunk was whole one-line events");
    assert.equal(together.raw, 1);
    assert.equal(apart.relay.text(), expected);
    assert.equal(together.relay.text(), expected);
    assert.equal(together.sent, events.join(""), "forwarded unchanged");
  });
});
