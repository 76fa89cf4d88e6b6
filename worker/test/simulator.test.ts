import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { encode } from "gpt-tokenizer";
import { startSimulator, type SimulatorHandle } from "../src/simulator/index.ts";
import { chatBody, get, post, testAgent } from "./helpers/client.ts";
import { request } from "undici";

const MODEL = "sim-llama-3.1-8b-instruct";
const tok = (s: string) => encode(s, { disallowedSpecial: new Set() }).length;
/** OpenAI's documented chat prompt formula, computed here independently of the code under test. */
const chatPromptTokens = (messages: { role: string; content: string }[]) =>
  3 + messages.reduce((n, m) => n + 3 + tok(m.role) + tok(m.content), 0);

function streamText(events: string[]): string {
  let text = "";
  for (const e of events) {
    if (e === "[DONE]") continue;
    for (const c of JSON.parse(e).choices) text += c.delta?.content ?? c.text ?? "";
  }
  return text;
}

describe("simulator", () => {
  let sim: SimulatorHandle;
  before(async () => {
    sim = await startSimulator({ port: 0, ttftMs: 5, ttftSigma: 0, tokensPerSecond: 5000, tickMs: 5, maxCompletionTokens: 80 });
  });
  after(() => sim.close());

  test("the same seed gives the same text, another seed other text", async () => {
    const a = (await post(`${sim.url}/chat/completions`, chatBody({ seed: 7 }))).json();
    const b = (await post(`${sim.url}/chat/completions`, chatBody({ seed: 7 }))).json();
    const c = (await post(`${sim.url}/chat/completions`, chatBody({ seed: 8 }))).json();
    assert.equal(a.choices[0].message.content, b.choices[0].message.content);
    assert.notEqual(a.choices[0].message.content, c.choices[0].message.content);
    assert.ok(a.choices[0].message.content.length > 20);
  });

  test("without a seed the text follows from the prompt", async () => {
    const p1 = chatBody({ messages: [{ role: "user", content: "first prompt" }] });
    const p2 = chatBody({ messages: [{ role: "user", content: "second prompt" }] });
    const a = (await post(`${sim.url}/chat/completions`, p1)).json().choices[0].message.content;
    const b = (await post(`${sim.url}/chat/completions`, p1)).json().choices[0].message.content;
    const c = (await post(`${sim.url}/chat/completions`, p2)).json().choices[0].message.content;
    assert.equal(a, b);
    assert.notEqual(a, c);
  });

  test("usage is exact against gpt-tokenizer for chat and completions", async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const body = chatBody({ seed, messages: [{ role: "user", content: `question number ${seed} <|endoftext|> with a special token` }] });
      const r = (await post(`${sim.url}/chat/completions`, body)).json();
      assert.equal(r.usage.prompt_tokens, chatPromptTokens(body.messages as any), `prompt tokens, seed ${seed}`);
      assert.equal(r.usage.completion_tokens, tok(r.choices[0].message.content), `completion tokens, seed ${seed}`);
      assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);

      const prompt = `Once upon a time ${seed}`;
      const k = (await post(`${sim.url}/completions`, { model: MODEL, prompt, seed })).json();
      assert.equal(k.usage.prompt_tokens, tok(prompt));
      assert.equal(k.usage.completion_tokens, tok(k.choices[0].text));
    }
  });

  test("a stream carries the same text and usage as the non-streamed reply", async () => {
    const plain = (await post(`${sim.url}/chat/completions`, chatBody({ seed: 99 }))).json();
    const s = await post(`${sim.url}/chat/completions`, chatBody({ seed: 99, stream: true, stream_options: { include_usage: true } }));
    assert.equal(s.status, 200);
    assert.match(String(s.headers["content-type"]), /text\/event-stream/);
    assert.equal(streamText(s.events), plain.choices[0].message.content);
    const usageChunk = JSON.parse(s.events.at(-2)!);
    assert.deepEqual(usageChunk.choices, []);
    assert.deepEqual(usageChunk.usage, plain.usage);
    assert.equal(s.events.at(-1), "[DONE]");
  });

  test("include_usage controls the usage chunk", async () => {
    const without = await post(`${sim.url}/chat/completions`, chatBody({ seed: 3, stream: true }));
    assert.equal(without.events.at(-1), "[DONE]");
    assert.ok(without.events.slice(0, -1).every((e) => JSON.parse(e).usage === undefined));
    const finish = JSON.parse(without.events.at(-2)!);
    assert.ok(finish.choices[0].finish_reason);
  });

  test("max_tokens and max_completion_tokens cap the reply", async () => {
    const a = (await post(`${sim.url}/chat/completions`, chatBody({ seed: 5, max_tokens: 7 }))).json();
    assert.equal(a.usage.completion_tokens, 7);
    assert.equal(a.choices[0].finish_reason, "length");
    const b = (await post(`${sim.url}/chat/completions`, chatBody({ seed: 5, max_completion_tokens: 4, stream: true, stream_options: { include_usage: true } })));
    assert.equal(JSON.parse(b.events.at(-2)!).usage.completion_tokens, 4);
    assert.equal(tok(streamText(b.events)), 4);
    const c = (await post(`${sim.url}/completions`, { model: MODEL, prompt: "x", max_tokens: 50, ignore_eos: true })).json();
    assert.equal(c.usage.completion_tokens, 50);
  });

  test("refuses what it cannot serve with OpenAI-style errors", async () => {
    const n = await post(`${sim.url}/chat/completions`, chatBody({ n: 2 }));
    assert.equal(n.status, 400);
    assert.equal(n.json().error.type, "invalid_request_error");
    const m = await post(`${sim.url}/chat/completions`, chatBody({ model: "nope" }));
    assert.equal(m.status, 404);
    assert.equal(m.json().error.code, "model_not_found");
    const bad = await post(`${sim.url}/chat/completions`, "{not json");
    assert.equal(bad.status, 400);
    const noMessages = await post(`${sim.url}/chat/completions`, { model: MODEL, messages: [] });
    assert.equal(noMessages.status, 400);
    const ctx = await post(`${sim.url}/chat/completions`, chatBody({ max_tokens: 9000 }));
    assert.equal(ctx.status, 400);
    assert.equal(ctx.json().error.code, "context_length_exceeded");
  });

  test("/v1/models and /health say plainly it is a simulator", async () => {
    const models = await get(`${sim.url}/models`);
    assert.equal(models.json.data[0].id, MODEL);
    assert.equal(models.json.data[0].owned_by, "tollgate-simulator");
    assert.equal(models.json.data[0].context_length, 8192);
    const health = await get(sim.url.replace(/\/v1$/, "/health"));
    assert.equal(health.status, 200);
    assert.equal(health.json.simulator, true);
  });

  test("completions stream", async () => {
    const s = await post(`${sim.url}/completions`, { model: MODEL, prompt: "The sky", seed: 11, stream: true, stream_options: { include_usage: true }, max_tokens: 12 });
    const usage = JSON.parse(s.events.at(-2)!).usage;
    assert.equal(usage.completion_tokens, 12);
    assert.equal(tok(streamText(s.events)), 12);
    assert.equal(JSON.parse(s.events[0]!).object, "text_completion");
  });
});

describe("simulator pacing and faults", () => {
  test("the first token waits for the TTFT and tokens come no faster than tokens/s", async () => {
    const sim = await startSimulator({ port: 0, ttftMs: 150, ttftSigma: 0, tokensPerSecond: 100 });
    try {
      const started = performance.now();
      const res = await request(`${sim.url}/chat/completions`, {
        method: "POST",
        dispatcher: testAgent,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(chatBody({ stream: true, max_tokens: 20, ignore_eos: true })),
      });
      let firstAt = 0;
      for await (const _ of res.body) if (!firstAt) firstAt = performance.now() - started;
      const total = performance.now() - started;
      assert.ok(firstAt >= 140, `first token after ${firstAt} ms`);
      assert.ok(total >= 140 + 190 - 15, `20 tokens at 100/s took ${total} ms`);
    } finally {
      await sim.close();
    }
  });

  test("tells an observer when each stream was accepted and its first token written", async () => {
    const seen: { prompt: unknown; acceptedAt: number; at: number }[] = [];
    const firstToken = (body: unknown, acceptedAt: number, at: number) => seen.push({ prompt: (body as { messages: { content: string }[] }).messages[0]!.content, acceptedAt, at });
    const sim = await startSimulator({ port: 0, ttftMs: 60, ttftSigma: 0, tokensPerSecond: 1000 }, { firstToken });
    try {
      const send = (content: string, stream: boolean) =>
        request(`${sim.url}/chat/completions`, {
          method: "POST",
          dispatcher: testAgent,
          headers: { "content-type": "application/json" },
          body: JSON.stringify(chatBody({ stream, max_tokens: 5, messages: [{ role: "user", content }] })),
        }).then((r) => r.body.text());
      const before = performance.now();
      await Promise.all([send("one", true), send("two", true), send("not streamed", false)]);
      assert.deepEqual(seen.map((s) => s.prompt).sort(), ["one", "two"], "once per stream, not for a non-streamed reply");
      for (const s of seen) {
        assert.ok(s.acceptedAt >= before && s.at - s.acceptedAt >= 60, `first token ${s.at - s.acceptedAt} ms after acceptance`);
      }
    } finally {
      await sim.close();
    }
  });

  test("error mode answers 500 or 503 before any token", async () => {
    const sim = await startSimulator({ port: 0, ttftMs: 1, ttftSigma: 0, errorRate: 1, faultSeed: 1 });
    try {
      const statuses = new Set<number>();
      for (let i = 0; i < 12; i++) {
        const r = await post(`${sim.url}/chat/completions`, chatBody({ stream: true }));
        statuses.add(r.status);
        assert.equal(r.json().error.type, "server_error");
      }
      assert.deepEqual([...statuses].sort(), [500, 503]);
    } finally {
      await sim.close();
    }
  });

  test("hang mode accepts and never answers", async () => {
    const sim = await startSimulator({ port: 0, ttftMs: 1, hangRate: 1 });
    try {
      await assert.rejects(post(`${sim.url}/chat/completions`, chatBody({ stream: true }), { signal: AbortSignal.timeout(300) }), { name: /AbortError|TimeoutError/ });
    } finally {
      await sim.close();
    }
  });

  test("crash mode cuts a stream after some tokens", async () => {
    const sim = await startSimulator({ port: 0, ttftMs: 1, ttftSigma: 0, tokensPerSecond: 2000, crashRate: 1, faultSeed: 3 });
    try {
      for (let i = 0; i < 5; i++) {
        const res = await request(`${sim.url}/chat/completions`, {
          method: "POST",
          dispatcher: testAgent,
          headers: { "content-type": "application/json" },
          body: JSON.stringify(chatBody({ seed: i, stream: true, max_tokens: 40, ignore_eos: true })),
        });
        let received = "";
        await assert.rejects(async () => {
          for await (const c of res.body) received += c.toString();
        });
        assert.match(received, /"content":"/, "some tokens arrived before the crash");
        assert.doesNotMatch(received, /\[DONE\]/);
      }
    } finally {
      await sim.close();
    }
  });

  test("serves 1000 concurrent streams with exact usage", async () => {
    const sim = await startSimulator({ port: 0, ttftMs: 50, ttftSigma: 0.3, tokensPerSecond: 100 });
    try {
      const replies = await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          post(`${sim.url}/chat/completions`, chatBody({ seed: i, stream: true, stream_options: { include_usage: true }, max_tokens: 20 })),
        ),
      );
      for (const r of replies) {
        assert.equal(r.status, 200);
        assert.equal(r.events.at(-1), "[DONE]");
        assert.equal(JSON.parse(r.events.at(-2)!).usage.completion_tokens, tok(streamText(r.events)));
      }
      assert.equal(sim.stats().activeJobs, 0);
    } finally {
      await sim.close();
    }
  });
});
