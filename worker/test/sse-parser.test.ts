import { test } from "node:test";
import assert from "node:assert/strict";
import { SseParser, SseTooLargeError } from "../src/agent/sse-parser.ts";

function feed(parts: (string | Uint8Array)[]) {
  const p = new SseParser();
  const out = [];
  for (const part of parts) out.push(...p.push(typeof part === "string" ? new TextEncoder().encode(part) : part));
  out.push(...p.end());
  return out;
}

test("events split at every possible byte boundary parse the same", () => {
  const text = 'data: {"a":"héllo 🙂"}\r\n\r\ndata:{"b":2}\n\n: keep-alive\n\nevent: ping\ndata: x\ndata: y\n\ndata: [DONE]\n\n';
  const bytes = new TextEncoder().encode(text);
  const whole = feed([bytes]);
  assert.deepEqual(whole, [
    { event: "message", data: '{"a":"héllo 🙂"}' },
    { event: "message", data: '{"b":2}' },
    { event: "ping", data: "x\ny" },
    { event: "message", data: "[DONE]" },
  ]);
  for (let cut = 1; cut < bytes.length; cut++) {
    assert.deepEqual(feed([bytes.subarray(0, cut), bytes.subarray(cut)]), whole, `cut at byte ${cut}`);
  }
});

test("an unterminated last event is still delivered", () => {
  assert.deepEqual(feed(['data: {"x":1}\n\ndata: {"y":2}']), [
    { event: "message", data: '{"x":1}' },
    { event: "message", data: '{"y":2}' },
  ]);
});

test("llama.cpp's error field becomes an error event", () => {
  assert.deepEqual(feed(['data: {"x":1}\n\nerror: {"code":500,"message":"boom"}\n\n']), [
    { event: "message", data: '{"x":1}' },
    { event: "error", data: '{"code":500,"message":"boom"}' },
  ]);
});

test("a runaway line without newline is refused instead of filling memory", () => {
  const p = new SseParser(1024);
  assert.throws(() => p.push(new TextEncoder().encode("data: " + "x".repeat(2000))), SseTooLargeError);
});
