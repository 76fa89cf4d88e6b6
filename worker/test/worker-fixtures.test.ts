/**
 * The worker in front of recorded vLLM, llama.cpp-server, Ollama and TGI output (test/fixtures):
 * whatever the runtime's dialect, the gateway gets the same clean OpenAI stream or body, with usage.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { encode } from "gpt-tokenizer";
import { fixture, startFixtureRuntime, type FixtureRuntime } from "./helpers/fixture-runtime.ts";
import { startStack, type Stack } from "./helpers/stack.ts";
import { post } from "./helpers/client.ts";
import { checkJson, checkStream, streamError } from "./helpers/openai-format.ts";
import type { RuntimeKind } from "../src/agent/runtimes.ts";

const PUBLIC = "llama-3.1-8b-instruct";
const CHAT_TEXT = "Hello! How can I help you today?";
const COMPLETION_TEXT = " Paris is the capital of France.";
const tok = (s: string) => encode(s, { disallowedSpecial: new Set() }).length;
const MESSAGES = [{ role: "user", content: "Hi there" }];
const PROMPT = "The capital of France is";
// Estimated prompt tokens, by OpenAI's chat formula computed independently here.
const EST_CHAT_PROMPT = 3 + MESSAGES.reduce((n, m) => n + 3 + tok(m.role) + tok(m.content), 0);

type Usage = { prompt: number; completion: number } | "estimated";
type Case = {
  runtime: RuntimeKind;
  upstreamModel: string;
  chatStream: [string, Usage][];
  completionStream: [string, Usage];
  chatUsage: { prompt: number; completion: number };
  completionUsage: { prompt: number; completion: number };
};

const CASES: Case[] = [
  {
    runtime: "vllm",
    upstreamModel: "meta-llama/Llama-3.1-8B-Instruct",
    chatStream: [["vllm/chat-stream.sse", { prompt: 42, completion: 10 }]],
    completionStream: ["vllm/completions-stream.sse", { prompt: 6, completion: 7 }],
    chatUsage: { prompt: 42, completion: 10 },
    completionUsage: { prompt: 6, completion: 7 },
  },
  {
    runtime: "llamacpp",
    upstreamModel: "gpt-3.5-turbo",
    chatStream: [
      ["llamacpp/chat-stream.sse", { prompt: 35, completion: 10 }],
      ["llamacpp/chat-stream-usage-chunk.sse", { prompt: 35, completion: 10 }],
    ],
    completionStream: ["llamacpp/completions-stream.sse", { prompt: 6, completion: 7 }],
    chatUsage: { prompt: 35, completion: 10 },
    completionUsage: { prompt: 6, completion: 7 },
  },
  {
    runtime: "ollama",
    upstreamModel: "llama3.1:8b",
    chatStream: [
      ["ollama/chat-stream.sse", { prompt: 31, completion: 10 }],
      ["ollama/chat-stream-no-usage.sse", "estimated"],
    ],
    completionStream: ["ollama/completions-stream.sse", "estimated"],
    chatUsage: { prompt: 31, completion: 10 },
    completionUsage: { prompt: 6, completion: 7 },
  },
  {
    runtime: "tgi",
    upstreamModel: "tgi",
    chatStream: [
      ["tgi/chat-stream.sse", { prompt: 42, completion: 10 }],
      ["tgi/chat-stream-old.sse", "estimated"],
    ],
    completionStream: ["tgi/completions-stream.sse", "estimated"],
    chatUsage: { prompt: 42, completion: 10 },
    completionUsage: { prompt: 6, completion: 7 },
  },
];

function expectUsage(got: { prompt_tokens: number; completion_tokens: number; total_tokens: number }, source: string, want: Usage, estPrompt: number, text: string) {
  if (want === "estimated") {
    assert.equal(source, "estimated");
    assert.equal(got.prompt_tokens, estPrompt);
    assert.equal(got.completion_tokens, tok(text));
  } else {
    assert.equal(source, "runtime");
    assert.equal(got.prompt_tokens, want.prompt);
    assert.equal(got.completion_tokens, want.completion);
  }
  assert.equal(got.total_tokens, got.prompt_tokens + got.completion_tokens);
}

for (const c of CASES) {
  describe(`worker in front of ${c.runtime} (recorded)`, () => {
    let rt: FixtureRuntime;
    let s: Stack;
    before(async () => {
      rt = await startFixtureRuntime();
      s = await startStack({ upstream: rt.url, runtime: c.runtime, models: `${PUBLIC}=${c.upstreamModel}` });
    });
    after(async () => {
      await s.close();
      await rt.close();
    });

    for (const [file, usage] of c.chatStream) {
      test(`chat stream ${file}`, async () => {
        rt.set("chat:stream", { file });
        const r = await post(s.chatUrl, { model: PUBLIC, messages: MESSAGES, stream: true, max_completion_tokens: 100 }, { token: s.token() });
        assert.equal(r.status, 200, r.text);
        const out = checkStream(r.events, "chat", PUBLIC);
        assert.equal(out.text, CHAT_TEXT);
        assert.equal(out.finishReason, "stop");
        expectUsage(out.usage, out.source, usage, EST_CHAT_PROMPT, CHAT_TEXT);
        assert.equal(r.trailers["x-tollgate-usage-source"], out.source);
        const sent = rt.requests.at(-1)!.body;
        assert.equal(sent.model, c.upstreamModel, "the runtime gets its own model name");
        assert.equal(sent.stream_options.include_usage, true, "usage is always requested upstream");
        assert.equal(sent.max_tokens ?? sent.max_completion_tokens, 100);
      });
    }

    test("chat, not streamed", async () => {
      rt.set("chat:json", { file: `${c.runtime}/chat.json` });
      const r = await post(s.chatUrl, { model: PUBLIC, messages: MESSAGES }, { token: s.token() });
      assert.equal(r.status, 200, r.text);
      const out = checkJson(r.json(), "chat", PUBLIC);
      assert.equal(out.text, CHAT_TEXT);
      assert.equal(out.finishReason, "stop");
      assert.equal(r.headers["x-tollgate-usage-source"], "runtime");
      expectUsage(out.usage, "runtime", c.chatUsage, EST_CHAT_PROMPT, CHAT_TEXT);
    });

    test(`completions stream ${c.completionStream[0]}`, async () => {
      rt.set("completion:stream", { file: c.completionStream[0] });
      const r = await post(s.completionsUrl, { model: PUBLIC, prompt: PROMPT, stream: true, max_tokens: 7 }, { token: s.token() });
      assert.equal(r.status, 200, r.text);
      const out = checkStream(r.events, "completion", PUBLIC);
      assert.equal(out.text, COMPLETION_TEXT);
      expectUsage(out.usage, out.source, c.completionStream[1], tok(PROMPT), COMPLETION_TEXT);
    });

    test("completions, not streamed", async () => {
      rt.set("completion:json", { file: `${c.runtime}/completions.json` });
      const r = await post(s.completionsUrl, { model: PUBLIC, prompt: PROMPT, max_tokens: 7 }, { token: s.token() });
      assert.equal(r.status, 200, r.text);
      const out = checkJson(r.json(), "completion", PUBLIC);
      assert.equal(out.text, COMPLETION_TEXT);
      expectUsage(out.usage, "runtime", c.completionUsage, tok(PROMPT), COMPLETION_TEXT);
    });
  });
}

describe("runtime errors and broken streams, recorded", () => {
  let rt: FixtureRuntime;
  let s: Stack;
  before(async () => {
    rt = await startFixtureRuntime();
    s = await startStack({ upstream: rt.url, runtime: "openai", models: PUBLIC, firstTokenTimeoutMs: 400, idleTimeoutMs: 400, requestTimeoutMs: 400 });
  });
  after(async () => {
    await s.close();
    await rt.close();
  });
  const chat = (stream: boolean) => post(s.chatUrl, { model: PUBLIC, messages: MESSAGES, stream }, { token: s.token() });

  test("a caller mistake reported by the runtime comes back as a 400 with the runtime's reason", async () => {
    for (const [file, status, pattern] of [
      ["vllm/error-400.json", 400, /maximum context length/],
      ["tgi/error-422.json", 422, /Input validation error/],
    ] as const) {
      rt.set("chat:stream", { file, status });
      rt.set("chat:json", { file, status });
      for (const stream of [true, false]) {
        const r = await chat(stream);
        assert.equal(r.status, 400, `${file} stream=${stream}`);
        assert.equal(r.json().error.type, "invalid_request_error");
        assert.match(r.json().error.message, pattern);
      }
    }
  });

  test("llama.cpp's context-size error event before any token is a 400", async () => {
    rt.set("chat:stream", { file: "llamacpp/chat-stream-context-error.sse" });
    const r = await chat(true);
    assert.equal(r.status, 400);
    assert.match(r.json().error.message, /context size/);
  });

  test("a model the runtime does not have is the worker's fault: 502, not 404", async () => {
    rt.set("chat:json", { file: "ollama/error-404.json", status: 404 });
    const r = await chat(false);
    assert.equal(r.status, 502);
    assert.equal(r.json().error.code, "upstream_model_missing");
  });

  test("an error event after the first token ends the stream with usage so far and an error event", async () => {
    for (const file of ["llamacpp/chat-stream-error.sse", "tgi/chat-stream-error.sse"]) {
      rt.set("chat:stream", { file });
      const r = await chat(true);
      assert.equal(r.status, 200, file);
      const err = streamError(r.events);
      assert.equal(err?.code, "upstream_error", file);
      assert.doesNotMatch(err!.message, /CUDA|KV cache/, "runtime internals stay inside the worker");
      const usage = JSON.parse(r.events.at(-2)!);
      assert.deepEqual(usage.choices, []);
      assert.equal(usage.usage.completion_tokens, tok("Hello!"));
      assert.ok(!r.events.includes("[DONE]"));
    }
  });

  test("a malformed chunk: 502 before the first token, error event after it", async () => {
    rt.set("chat:stream", { text: 'data: {"choices": [ {"delta": \n\n' });
    const before = await chat(true);
    assert.equal(before.status, 502);
    assert.equal(before.json().error.code, "upstream_malformed");

    const good = 'data: {"id":"x","created":1,"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\n';
    rt.set("chat:stream", { text: good + "data: {oops\n\n" });
    const after = await chat(true);
    assert.equal(after.status, 200);
    assert.equal(streamError(after.events)?.code, "upstream_malformed");
    rt.set("chat:json", { text: "<html>502 Bad Gateway</html>" });
    const js = await chat(false);
    assert.equal(js.status, 502);
    assert.equal(js.json().error.code, "upstream_malformed");
  });

  test("a connection reset mid-stream ends the stream with an error event", async () => {
    const file = "vllm/chat-stream.sse";
    rt.set("chat:stream", { file, resetAfter: 900 });
    const r = await chat(true);
    assert.equal(r.status, 200);
    assert.equal(streamError(r.events)?.code, "upstream_disconnected");
    assert.equal(JSON.parse(r.events.at(-2)!).tollgate_usage_source, "estimated");
  });

  test("a stream that stops short without finish or [DONE] is not passed off as complete", async () => {
    const text = 'data: {"id":"x","created":1,"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\n';
    rt.set("chat:stream", { text, contentType: "text/event-stream" });
    const r = await chat(true);
    assert.equal(streamError(r.events)?.code, "upstream_truncated");
  });

  test("silence before the first token is a 504; silence after it an error event", async () => {
    rt.set("chat:stream", { file: "vllm/chat-stream.sse", stallAfter: 0 });
    const t0 = performance.now();
    const before = await chat(true);
    assert.equal(before.status, 504);
    assert.ok(performance.now() - t0 < 2000);
    rt.set("chat:stream", { file: "vllm/chat-stream.sse", stallAfter: 900 });
    const after = await chat(true);
    assert.equal(after.status, 200);
    assert.equal(streamError(after.events)?.code, "upstream_timeout");
    rt.set("chat:json", { file: "vllm/chat.json", stallAfter: 10 });
    assert.equal((await chat(false)).status, 504);
  });

  test("[DONE] ends the stream even if the runtime keeps the connection open", async () => {
    const file = "vllm/chat-stream.sse";
    rt.set("chat:stream", { file, stallAfter: Buffer.byteLength(fixture(file)) });
    const r = await chat(true);
    assert.equal(checkStream(r.events, "chat", PUBLIC).text, CHAT_TEXT);
  });

  test("after all that, the agent still serves", async () => {
    rt.set("chat:stream", { file: "vllm/chat-stream.sse" });
    const r = await chat(true);
    assert.equal(checkStream(r.events, "chat", PUBLIC).text, CHAT_TEXT);
    assert.equal(s.worker.state().inFlight, 0);
  });
});
