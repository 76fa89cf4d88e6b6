/**
 * A slow first token: the gateway keeps the stream open with SSE comments so a proxy in front of it
 * does not cut an idle connection, and SSE clients (the official openai client) ignore them.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { MODEL, loginAndCreateKey, startEnv, startGateway, startRig, stopRig, type Env, type WorkerRig } from "./helpers/stack.ts";
import type { Gateway } from "../src/server.ts";

let env: Env;
let gw: Gateway;
let url: string;
let rig: WorkerRig;
let key: string;

before(async () => {
  env = await startEnv({ providers: 1, deposit: 10_000_000n });
  ({ gw, url } = await startGateway(env, { sseKeepAliveMs: 200 }));
  rig = await startRig(env, url, 0, 0, { ttftMs: 1_000 });
  await gw.follower.syncOnce();
  ({ key } = await loginAndCreateKey(url, env.customer, env.chain.chainId));
});

after(async () => {
  await stopRig(rig);
  await gw?.close();
  await env?.stop();
});

describe("SSE keep-alive while waiting for the first token", () => {
  it("sends the headers and `: keep-alive` comments before a slow first token, then the stream as usual", async () => {
    const t0 = performance.now();
    const res = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "slow please" }], max_tokens: 8, stream: true }) });
    const headersMs = performance.now() - t0;
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    assert.ok(headersMs < 900, `headers came after ${headersMs.toFixed(0)} ms, before the first token (1 s)`);
    const text = await res.text();
    const firstData = text.indexOf("data: ");
    const comments = text.slice(0, firstData).match(/^: keep-alive\n\n/gm) ?? [];
    assert.ok(comments.length >= 3, `${comments.length} keep-alive comments before the first token`);
    assert.ok(!text.slice(firstData).includes(": keep-alive"), "no comment once tokens flow");
    assert.ok(text.trimEnd().endsWith("data: [DONE]"));
  });

  it("the official openai client reads such a stream", async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
    const s = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "slow please" }], max_tokens: 8, stream: true });
    let content = "";
    for await (const chunk of s) content += chunk.choices[0]?.delta?.content ?? "";
    assert.ok(content.length > 0);
  });
});
