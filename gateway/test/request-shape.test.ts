/**
 * Requests that would make a worker generate more than the reservation covers are refused up front:
 * the gateway reserves and bills one choice of at most max_tokens, so n > 1, best_of > 1 and a list
 * of prompts (one completion each) get a 400 in OpenAI's format, and no money moves.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { MODEL, loginAndCreateKey, startEnv, startGateway, startRig, stopRig, waitFor, type Env, type WorkerRig } from "./helpers/stack.ts";
import type { Gateway } from "../src/server.ts";
import { hasOpaqueParts, promptReserveFor } from "../src/metering/tokenizer.ts";

let env: Env;
let gw: Gateway;
let url: string;
let rig: WorkerRig;
let client: OpenAI;

before(async () => {
  env = await startEnv({ providers: 1, deposit: 10_000_000n });
  ({ gw, url } = await startGateway(env));
  rig = await startRig(env, url, 0);
  await gw.follower.syncOnce();
  await waitFor(() => gw.ctx.registry.all().some((w) => gw.ctx.registry.alive(w)), 10_000, "worker registered");
  const { key } = await loginAndCreateKey(url, env.customer, env.chain.chainId);
  client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
});

after(async () => {
  await stopRig(rig);
  await gw?.close();
  await env?.stop();
});

const badRequest = (pattern: RegExp) => (e: unknown) => e instanceof OpenAI.BadRequestError && e.type === "invalid_request_error" && pattern.test(e.message);
const receiptsCount = async () => Number((await gw.ctx.db.query(`SELECT COUNT(*) AS n FROM receipts`))[0]!.n);

describe("one choice per request", () => {
  it("refuses a list of prompts, n > 1 and best_of > 1, and writes no receipt", async () => {
    const before = await receiptsCount();
    await assert.rejects(client.completions.create({ model: MODEL, prompt: ["one", "two", "three"], max_tokens: 5 }), badRequest(/one prompt per request/));
    await assert.rejects(client.completions.create({ model: MODEL, prompt: [[1, 2], [3, 4]], max_tokens: 5 }), badRequest(/one prompt per request/));
    await assert.rejects(client.completions.create({ model: MODEL, prompt: "x", max_tokens: 5, best_of: 3 }), badRequest(/best_of/));
    await assert.rejects(client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "x" }], max_tokens: 5, n: 2 }), badRequest(/only n = 1/));
    assert.equal(await receiptsCount(), before, "nothing was dispatched");
  });

  it("still serves one prompt given as a list, or as token ids", async () => {
    const a = await client.completions.create({ model: MODEL, prompt: ["just one"], max_tokens: 5 });
    assert.ok(a.choices.length === 1 && a.usage!.completion_tokens > 0);
    const b = await client.completions.create({ model: MODEL, prompt: [101, 102, 103], max_tokens: 5 });
    assert.ok(b.choices.length === 1 && b.usage!.completion_tokens <= 5);
  });

  it("a chat request with both limits is billed within the smaller one it asked for", async () => {
    const r = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "x" }], max_tokens: 4_000, max_completion_tokens: 3 });
    assert.ok(r.usage!.completion_tokens <= 3, `billed ${r.usage!.completion_tokens} completion tokens`);
  });
});

describe("tool definitions are prompt tokens", () => {
  const tool = (i: number) => ({ type: "function" as const, function: { name: `lookup_${i}`, description: `Looks up record ${i} in the customer database and returns its fields as JSON.`, parameters: { type: "object", properties: { id: { type: "string", description: "record id" } }, required: ["id"] } } });

  it("are reserved and billed like messages: the receipt carries the worker's full prompt count", async () => {
    const plain = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "x" }], max_tokens: 3 });
    const withTools = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "x" }], max_tokens: 3, tools: Array.from({ length: 20 }, (_, i) => tool(i)) });
    assert.ok(withTools.usage!.prompt_tokens > plain.usage!.prompt_tokens + 500, `tools add prompt tokens (${plain.usage!.prompt_tokens} → ${withTools.usage!.prompt_tokens})`);
    const rows = await gw.ctx.db.query(`SELECT prompt_tokens FROM receipts ORDER BY created_ms DESC LIMIT 1`);
    assert.equal(Number(rows[0]!.prompt_tokens), withTools.usage!.prompt_tokens, "billed for every prompt token, not capped at the messages' count");
  });

  it("count towards the tier's prompt cap (413)", async () => {
    const tools = Array.from({ length: 400 }, (_, i) => tool(i)); // about 20k tokens, above the hobby tier's 8,192
    await assert.rejects(
      client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "x" }], max_tokens: 3, tools }),
      (e: unknown) => e instanceof OpenAI.APIError && e.status === 413,
    );
  });
});

describe("images, audio and files in a prompt", () => {
  it("reserve the tier's whole prompt allowance, since the gateway cannot count them", () => {
    const image = [{ role: "user", content: [{ type: "text", text: "what is this?" }, { type: "image_url", image_url: { url: "https://example.com/a.png" } }] }];
    assert.equal(hasOpaqueParts(image), true);
    assert.equal(hasOpaqueParts([{ role: "user", content: [{ type: "text", text: "only text" }] }, { role: "user", content: "plain" }]), false);
    assert.equal(promptReserveFor(10, true, 8_192), 8_192, "an image request may be billed up to the tier's prompt cap");
    assert.equal(promptReserveFor(10, false, 8_192), 19, "text: own count + 5 % + 8");
    assert.equal(promptReserveFor(9_000, true, 8_192), 9_458, "never below the text's own reserve");
  });

  it("are served, and the provider is not penalised for counting them", async () => {
    const r = await client.chat.completions.create({ model: MODEL, max_tokens: 3, messages: [{ role: "user", content: [{ type: "text", text: "describe" }, { type: "image_url", image_url: { url: "https://example.com/a.png" } }] }] });
    assert.equal(r.choices.length, 1);
    const rows = await gw.ctx.db.query(`SELECT drift FROM receipts ORDER BY created_ms DESC LIMIT 1`);
    assert.equal(Number(rows[0]!.drift), 0);
  });
});
