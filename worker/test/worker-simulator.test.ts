import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { encode } from "gpt-tokenizer";
import { startSimulator, type SimulatorHandle } from "../src/simulator/index.ts";
import { startStack, type Stack } from "./helpers/stack.ts";
import { chatBody, get, post } from "./helpers/client.ts";
import { checkJson, checkStream, streamError } from "./helpers/openai-format.ts";
import { request } from "undici";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MODEL = "sim-llama-3.1-8b-instruct";
const tok = (s: string) => encode(s, { disallowedSpecial: new Set() }).length;

describe("worker in front of the simulator", () => {
  let sim: SimulatorHandle;
  let s: Stack;
  before(async () => {
    sim = await startSimulator({ port: 0, ttftMs: 5, ttftSigma: 0, tokensPerSecond: 2000, maxCompletionTokens: 60 });
    s = await startStack({ upstream: sim.url, runtime: "vllm", maxConcurrency: 4 });
  });
  after(async () => {
    await s.close();
    await sim.close();
  });

  test("a stream comes out clean, with the runtime's usage even when the caller did not ask for it", async () => {
    const r = await post(s.chatUrl, chatBody({ seed: 1, stream: true }), { token: s.token() });
    assert.equal(r.status, 200);
    const out = checkStream(r.events, "chat", MODEL);
    assert.equal(out.source, "runtime");
    assert.equal(r.trailers["x-tollgate-usage-source"], "runtime");
    const direct = (await post(`${sim.url}/chat/completions`, chatBody({ seed: 1 }))).json();
    assert.equal(out.text, direct.choices[0].message.content);
    assert.deepEqual(out.usage, direct.usage);
  });

  test("a non-streamed reply carries usage and the usage-source header", async () => {
    const r = await post(s.chatUrl, chatBody({ seed: 2 }), { token: s.token() });
    assert.equal(r.status, 200);
    assert.equal(r.headers["x-tollgate-usage-source"], "runtime");
    const out = checkJson(r.json(), "chat", MODEL);
    assert.equal(out.usage.completion_tokens, tok(out.text));
  });

  test("completions, streamed and not", async () => {
    const body = { model: MODEL, prompt: "Tell me", seed: 4, max_tokens: 9 };
    const st = await post(s.completionsUrl, { ...body, stream: true }, { token: s.token() });
    const out = checkStream(st.events, "completion", MODEL);
    assert.equal(out.usage.completion_tokens, 9);
    assert.equal(out.finishReason, "length");
    const js = checkJson((await post(s.completionsUrl, body, { token: s.token() })).json(), "completion", MODEL);
    assert.equal(js.text, out.text);
  });

  test("only the gateway's token is accepted", async () => {
    const none = await post(s.chatUrl, chatBody());
    assert.equal(none.status, 401);
    assert.equal(none.json().error.type, "authentication_error");
    const wrong = await post(s.chatUrl, chatBody(), { token: s.token().slice(0, -1) + (s.token().endsWith("a") ? "b" : "a") });
    assert.equal(wrong.status, 401);
    assert.equal((await get(`${s.worker.url}/v1/models`)).status, 401);
    const models = await get(`${s.worker.url}/v1/models`, s.token());
    assert.deepEqual(models.json.data.map((m: any) => m.id), [MODEL]);
  });

  test("bad requests get clean 4xx errors", async () => {
    const unknown = await post(s.chatUrl, chatBody({ model: "gpt-9" }), { token: s.token() });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json().error.code, "model_not_found");
    const broken = await post(s.chatUrl, "{", { token: s.token() });
    assert.equal(broken.status, 400);
    const invalid = await post(s.chatUrl, { model: MODEL, messages: "hi" }, { token: s.token() });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.json().error.type, "invalid_request_error");
    const tooLong = await post(s.chatUrl, chatBody({ max_tokens: 100_000, stream: true }), { token: s.token() });
    assert.equal(tooLong.status, 400, "the runtime's context-length refusal reaches the caller as a 400");
    assert.match(tooLong.json().error.message, /maximum context length/);
  });

  test("beyond max concurrency the worker answers 429 with retry-after", async () => {
    const slow = chatBody({ stream: true, max_tokens: 200, ignore_eos: true });
    const slowSim = await startSimulator({ port: 0, ttftMs: 300, ttftSigma: 0, tokensPerSecond: 1000 });
    const busy = await startStack({ upstream: slowSim.url, maxConcurrency: 2 });
    try {
      const inflight = [post(busy.chatUrl, slow, { token: busy.token() }), post(busy.chatUrl, slow, { token: busy.token() })];
      await busy.gw.waitFor(() => busy.worker.state().inFlight === 2);
      const third = await post(busy.chatUrl, slow, { token: busy.token() });
      assert.equal(third.status, 429);
      assert.equal(third.headers["retry-after"], "1");
      assert.equal(third.json().error.code, "worker_busy");
      for (const r of await Promise.all(inflight)) checkStream(r.events, "chat", MODEL);
      const after = await post(busy.chatUrl, chatBody({ max_tokens: 3 }), { token: busy.token() });
      assert.equal(after.status, 200, "slots are released once requests finish");
    } finally {
      await busy.close();
      await slowSim.close();
    }
  });

  test("heartbeats report load and health", async () => {
    const hb = await s.gw.waitFor(() => s.gw.heartbeats.at(-1));
    assert.equal(hb.body.maxConcurrency, 4);
    assert.equal(hb.body.draining, false);
    assert.equal(hb.body.health.upstreamOk, true);
    assert.ok(hb.body.health.score > 0.9);
    assert.equal(typeof hb.body.inFlight, "number");
  });
});

describe("worker when the runtime misbehaves", () => {
  test("runtime errors before the first token become a clean 502/503 and lower the health score", async () => {
    const sim = await startSimulator({ port: 0, ttftMs: 1, errorRate: 1, faultSeed: 2 });
    const s = await startStack({ upstream: sim.url });
    try {
      for (let i = 0; i < 4; i++) {
        const r = await post(s.chatUrl, chatBody({ stream: i % 2 === 0 }), { token: s.token() });
        assert.ok(r.status === 502 || r.status === 503, `status ${r.status}`);
        const err = r.json().error;
        assert.equal(err.type, "server_error");
        assert.doesNotMatch(JSON.stringify(err), /127\.0\.0\.1|simulated/, "no upstream details leak");
        if (r.status === 503) assert.equal(r.headers["retry-after"], "1");
      }
      const hb = await s.gw.waitFor(() => s.gw.heartbeats.find((h) => h.body.health.consecutiveFailures >= 4));
      assert.ok(hb.body.health.score < 0.5, `score ${hb.body.health.score}`);
    } finally {
      await s.close();
      await sim.close();
    }
  });

  test("a hung runtime times out with 504 and the worker keeps serving", async () => {
    const sim = await startSimulator({ port: 0, hangRate: 1 });
    const s = await startStack({ upstream: sim.url, firstTokenTimeoutMs: 300, requestTimeoutMs: 300 });
    try {
      const t0 = performance.now();
      const st = await post(s.chatUrl, chatBody({ stream: true }), { token: s.token() });
      assert.equal(st.status, 504);
      assert.equal(st.json().error.code, "upstream_timeout");
      assert.ok(performance.now() - t0 < 2000);
      const js = await post(s.chatUrl, chatBody(), { token: s.token() });
      assert.equal(js.status, 504);
      assert.equal(s.worker.state().inFlight, 0);
    } finally {
      await s.close();
      await sim.close();
    }
  });

  test("a runtime crash mid-stream ends the stream with usage so far and an error event", async () => {
    const sim = await startSimulator({ port: 0, ttftMs: 1, tokensPerSecond: 2000, crashRate: 1, faultSeed: 9 });
    const s = await startStack({ upstream: sim.url });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await post(s.chatUrl, chatBody({ seed: i, stream: true, max_tokens: 50, ignore_eos: true }), { token: s.token() });
        assert.equal(r.status, 200);
        assert.notEqual(r.events.at(-1), "[DONE]");
        const err = streamError(r.events);
        assert.equal(err?.code, "upstream_disconnected");
        const usageChunk = JSON.parse(r.events.at(-2)!);
        assert.deepEqual(usageChunk.choices, []);
        assert.equal(usageChunk.tollgate_usage_source, "estimated");
        const text = r.events.slice(0, -2).map((e) => JSON.parse(e).choices[0].delta.content ?? "").join("");
        assert.ok(text.length > 0);
        assert.equal(usageChunk.usage.completion_tokens, tok(text), "billed for exactly what was delivered");
        assert.equal(r.trailers["x-tollgate-usage-source"], "estimated");
      }
      assert.equal((await get(`${s.worker.url}/health`)).json.status, "ok", "the agent survived");
    } finally {
      await s.close();
      await sim.close();
    }
  });

  test("a slow but steady stream outlives the idle timeout; only silence trips it", async () => {
    const sim = await startSimulator({ port: 0, ttftMs: 1, ttftSigma: 0, tokensPerSecond: 20 });
    const s = await startStack({ upstream: sim.url, idleTimeoutMs: 400 });
    try {
      const t0 = performance.now();
      const r = await post(s.chatUrl, chatBody({ stream: true, max_tokens: 16, ignore_eos: true }), { token: s.token() });
      assert.ok(performance.now() - t0 > 700, "the stream lasted longer than the idle timeout");
      assert.equal(checkStream(r.events, "chat", MODEL).usage.completion_tokens, 16);
    } finally {
      await s.close();
      await sim.close();
    }
  });

  test("when the gateway hangs up, the runtime request is cancelled and the slot freed", async () => {
    const sim = await startSimulator({ port: 0, ttftMs: 1, ttftSigma: 0, tokensPerSecond: 20 });
    const s = await startStack({ upstream: sim.url });
    try {
      const ac = new AbortController();
      const res = await request(s.chatUrl, {
        method: "POST",
        signal: ac.signal,
        headers: { "content-type": "application/json", authorization: `Bearer ${s.token()}` },
        body: JSON.stringify(chatBody({ stream: true, max_tokens: 200, ignore_eos: true })),
      });
      for await (const _ of res.body) break; // first bytes, then hang up
      ac.abort();
      await s.gw.waitFor(() => s.worker.state().inFlight === 0, 3000);
      await s.gw.waitFor(() => sim.stats().activeJobs === 0, 3000);
      assert.ok(sim.stats().tokensSent < 100, "generation stopped long before its 200 tokens");
    } finally {
      await s.close();
      await sim.close();
    }
  });

  test("heartbeats carry GPU load when nvidia-smi is present", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fake-nvidia-"));
    await writeFile(join(dir, "nvidia-smi"), "#!/bin/sh\necho 'NVIDIA L4, 1024, 23034, 42'\n", { mode: 0o755 });
    const savedPath = process.env.PATH;
    process.env.PATH = `${dir}:${savedPath}`;
    const sim = await startSimulator({ port: 0 });
    try {
      const s = await startStack({ upstream: sim.url, gpuStats: true });
      try {
        const hb = await s.gw.waitFor(() => s.gw.heartbeats.find((h) => h.body.gpu));
        assert.deepEqual(hb.body.gpu, [{ name: "NVIDIA L4", memoryUsedMiB: 1024, memoryTotalMiB: 23034, utilizationPct: 42 }]);
      } finally {
        await s.close();
      }
    } finally {
      process.env.PATH = savedPath;
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("an unreachable runtime gives 502 and heartbeats say upstreamOk false", async () => {
    const sim = await startSimulator({ port: 0 });
    const upstream = sim.url;
    await sim.close();
    const s = await startStack({ upstream });
    try {
      const r = await post(s.chatUrl, chatBody({ stream: true }), { token: s.token() });
      assert.equal(r.status, 502);
      assert.equal(r.json().error.code, "upstream_unavailable");
      const hb = await s.gw.waitFor(() => s.gw.heartbeats.at(-1));
      assert.equal(hb.body.health.upstreamOk, false);
      assert.equal(hb.body.health.score, 0);
    } finally {
      await s.close();
    }
  });
});
