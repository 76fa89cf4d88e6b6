/**
 * The OpenAI surface through the official `openai` client, against real workers (worker agent +
 * simulator) registered with the gateway over the real worker protocol, on a real chain.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { MODEL, loginAndCreateKey, startEnv, startGateway, startRig, stopRig, waitFor, type Env, type WorkerRig } from "./helpers/stack.ts";
import type { Gateway } from "../src/server.ts";

let env: Env;
let gw: Gateway;
let url: string;
let rigs: WorkerRig[] = [];
let key: string;
let client: OpenAI;

before(async () => {
  env = await startEnv({ providers: 2, deposit: 50_000_000n });
  ({ gw, url } = await startGateway(env, { tiers: { hobby: { name: "hobby", index: 0, maxPromptTokens: 2_000, maxOutputTokens: 256, requestsPerMinute: 1000, tokensPerMinute: 10_000_000, concurrentRequests: 64 } } }));
  rigs = [await startRig(env, url, 0), await startRig(env, url, 1)];
  await gw.follower.syncOnce();
  ({ key } = await loginAndCreateKey(url, env.customer, env.chain.chainId));
  client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
});

after(async () => {
  for (const r of rigs) await stopRig(r);
  await gw?.close();
  await env?.stop();
});

describe("the official openai client", () => {
  it("lists the models healthy staked workers serve, with price and context length", async () => {
    const models = await client.models.list();
    const m = models.data.find((x) => x.id === MODEL) as unknown as { id: string; context_length: number; pricing: { prompt: string; completion: string } };
    assert.ok(m, "the served model is listed");
    assert.equal(m.context_length, 8192);
    assert.equal(m.pricing.prompt, "200000");
    assert.equal(m.pricing.completion, "600000");
    assert.equal(models.data.length, 1);
  });

  it("gets a chat completion with usage and Tollgate headers", async () => {
    const { data, response } = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Say hello" }], max_tokens: 12 }).withResponse();
    assert.equal(data.object, "chat.completion");
    assert.ok(data.choices[0]!.message.content!.length > 0);
    assert.ok(data.usage!.completion_tokens > 0 && data.usage!.completion_tokens <= 12);
    assert.match(response.headers.get("x-request-id")!, /^req_/);
    assert.match(response.headers.get("x-tollgate-receipt-id")!, /^0x[0-9a-f]{64}$/);
    assert.ok(Number(response.headers.get("x-tollgate-overhead-ms")) >= 0);
  });

  it("streams a chat completion; the usage chunk only when asked", async () => {
    const withUsage = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Stream please" }], max_tokens: 16, stream: true, stream_options: { include_usage: true } });
    let text = "";
    let usage: { completion_tokens: number; prompt_tokens: number } | null = null;
    for await (const chunk of withUsage) {
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usage = chunk.usage;
      assert.equal((chunk as unknown as Record<string, unknown>).tollgate_usage_source, undefined, "internal fields are stripped");
    }
    assert.ok(text.length > 0);
    assert.ok(usage && usage.completion_tokens > 0 && usage.prompt_tokens > 0);

    const without = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Stream please" }], max_tokens: 16, stream: true });
    let chunks = 0;
    for await (const chunk of without) {
      chunks++;
      assert.equal(chunk.usage ?? null, null, "no usage chunk when not asked for");
    }
    assert.ok(chunks > 1);
  });

  it("serves legacy completions, streamed and not", async () => {
    const c = await client.completions.create({ model: MODEL, prompt: "Once upon a time", max_tokens: 10 });
    assert.equal(c.object, "text_completion");
    assert.ok(c.choices[0]!.text.length > 0);
    const s = await client.completions.create({ model: MODEL, prompt: "Once upon a time", max_tokens: 10, stream: true });
    let text = "";
    for await (const chunk of s) text += chunk.choices[0]?.text ?? "";
    assert.ok(text.length > 0);
  });

  it("writes one receipt per request, fetchable by its id, without any text", async () => {
    const { response } = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "secret prompt words" }], max_tokens: 8 }).withResponse();
    const id = response.headers.get("x-tollgate-receipt-id")!;
    const res = await fetch(`${url}/v1/receipts/${id}`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { receipt: Record<string, unknown>; proof: unknown };
    assert.equal(body.receipt.id, id);
    assert.equal(body.receipt.status, 0);
    assert.equal(body.receipt.customer, env.customer.account.address);
    assert.ok(Number(body.receipt.completionTokens) > 0);
    assert.equal(body.proof, null, "no proof before its batch is posted");
    assert.ok(!JSON.stringify(body).includes("secret prompt"), "no prompt text in a receipt");
  });
});

describe("errors in OpenAI's shape", () => {
  const post = (path: string, body: unknown, auth: string | null = key) =>
    fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...(auth && { authorization: `Bearer ${auth}` }) }, body: typeof body === "string" ? body : JSON.stringify(body) });

  it("401 for a missing or unknown key (and the client raises AuthenticationError)", async () => {
    const r = await post("/v1/chat/completions", { model: MODEL, messages: [{ role: "user", content: "hi" }] }, null);
    assert.equal(r.status, 401);
    const body = (await r.json()) as { error: { message: string; type: string; code: string } };
    assert.equal(body.error.type, "authentication_error");
    assert.ok(r.headers.get("x-request-id") && r.headers.get("x-tollgate-receipt-id") && r.headers.get("x-tollgate-overhead-ms"));
    const bad = new OpenAI({ baseURL: `${url}/v1`, apiKey: "tg_test_" + "a".repeat(49), maxRetries: 0 });
    await assert.rejects(bad.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] }), OpenAI.AuthenticationError);
  });

  it("400 for a malformed body, 404 for an unknown model, 413 above the tier's prompt cap", async () => {
    const r400 = await post("/v1/chat/completions", "{not json");
    assert.equal(r400.status, 400);
    assert.equal(((await r400.json()) as { error: { type: string } }).error.type, "invalid_request_error");
    const r400b = await post("/v1/chat/completions", { model: MODEL, messages: [] });
    assert.equal(r400b.status, 400);
    await assert.rejects(client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] }), (e: unknown) => e instanceof OpenAI.NotFoundError);
    const long = "word ".repeat(3_000);
    const r413 = await post("/v1/chat/completions", { model: MODEL, messages: [{ role: "user", content: long }] });
    assert.equal(r413.status, 413);
    assert.equal(((await r413.json()) as { error: { code: string } }).error.code, "prompt_too_large");
  });

  it("a long prompt, counted on the gateway's token thread, is billed as the worker counted it, streamed and not", async () => {
    // Over the 2 KiB counted inline, within this tier's 2,000-token cap: 9 KB, about 860 tokens.
    const long = "internationalization ".repeat(429);
    const offloaded = gw.ctx.tokens.offloaded;
    const { data, response } = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: long }], max_tokens: 4 }).withResponse();
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: long }], max_tokens: 4, stream: true, stream_options: { include_usage: true } });
    let streamed: number | undefined;
    for await (const chunk of stream) streamed = chunk.usage?.prompt_tokens ?? streamed;
    assert.ok(gw.ctx.tokens.offloaded >= offloaded + 2, "both prompts went to the thread");
    assert.ok(data.usage!.prompt_tokens > 800, `${data.usage!.prompt_tokens} prompt tokens`);
    assert.equal(streamed, data.usage!.prompt_tokens);
    const rows = await gw.ctx.db.query(`SELECT prompt_tokens, drift FROM receipts WHERE id = $1`, [response.headers.get("x-tollgate-receipt-id")]);
    assert.equal(Number(rows[0]!.prompt_tokens), data.usage!.prompt_tokens);
    assert.equal(Number(rows[0]!.drift), 0, "the gateway's count on its thread agrees with the worker's");
  });

  it("a revoked key stops working at once", async () => {
    const { key: k2, session, id } = await loginAndCreateKey(url, env.customer, env.chain.chainId, { name: "temp" });
    const c2 = new OpenAI({ baseURL: `${url}/v1`, apiKey: k2, maxRetries: 0 });
    await c2.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 4 });
    const list = (await (await fetch(`${url}/v1/keys`, { headers: { authorization: `Bearer ${session}` } })).json()) as { data: { id: string; name: string; last4: string }[] };
    assert.ok(list.data.some((k) => k.id === id && k.last4 === k2.slice(-4)));
    assert.ok(!JSON.stringify(list).includes(k2), "the key itself is never listed");
    const del = await fetch(`${url}/v1/keys/${id}`, { method: "DELETE", headers: { authorization: `Bearer ${session}` } });
    assert.equal(del.status, 204);
    await assert.rejects(c2.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 4 }), OpenAI.AuthenticationError);
  });

  it("503 when no healthy worker serves a known model", async () => {
    for (const r of rigs) await r.worker.drain();
    await waitFor(() => gw.ctx.registry.all().every((w) => w.draining || !gw.ctx.registry.alive(w)), 5_000, "workers drained");
    await assert.rejects(client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] }), (e: unknown) => e instanceof OpenAI.APIError && e.status === 503);
  });
});
