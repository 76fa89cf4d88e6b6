/**
 * Changing an API key after it was created (PATCH /v1/keys/:id): a customer tightens or lifts its
 * daily spend cap and its allowed models from the dApp, and the very next request obeys, without
 * the secret changing. Only the key's owner, and only while it is active.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { ANVIL_KEYS } from "@tollgate/protocol/devnet";
import { MODEL, loginAndCreateKey, startEnv, startGateway, startRig, stopRig, waitFor, type Env, type WorkerRig } from "./helpers/stack.ts";
import type { Gateway } from "../src/server.ts";

let env: Env;
let gw: Gateway;
let url: string;
let rig: WorkerRig;
let session: string;
let key: string;
let id: string;

const patch = (keyId: string, body: unknown, auth = session) =>
  fetch(`${url}/v1/keys/${keyId}`, { method: "PATCH", headers: { "content-type": "application/json", authorization: `Bearer ${auth}` }, body: JSON.stringify(body) });
const ask = () => new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 }).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 5 });
const apiError = (status: number, code: string) => (e: unknown) => e instanceof OpenAI.APIError && e.status === status && e.code === code;

before(async () => {
  env = await startEnv({ providers: 1, deposit: 10_000_000n });
  ({ gw, url } = await startGateway(env, { corsOrigins: "https://app.tollgate.test" }));
  rig = await startRig(env, url, 0);
  await gw.follower.syncOnce();
  await waitFor(() => gw.ctx.registry.all().some((w) => gw.ctx.registry.alive(w)), 10_000, "worker registered");
  ({ key, session, id } = await loginAndCreateKey(url, env.customer, env.chain.chainId, { name: "ci" }));
});

after(async () => {
  await stopRig(rig);
  await gw?.close();
  await env?.stop();
});

describe("PATCH /v1/keys/:id", () => {
  it("a daily cap set after creation stops the next request; lifting it lets requests through again", async () => {
    await ask();
    const capped = await patch(id, { dailySpendCap: "1" });
    assert.equal(capped.status, 200);
    const body = (await capped.json()) as { id: string; name: string; dailySpendCap: string | null; last4: string };
    assert.equal(body.dailySpendCap, "1");
    assert.equal(body.name, "ci", "fields not sent are kept");
    assert.equal(body.last4, key.slice(-4), "the secret does not change");
    await assert.rejects(ask(), apiError(402, "daily_cap_reached"));
    const lifted = await patch(id, { dailySpendCap: null });
    assert.equal(((await lifted.json()) as { dailySpendCap: string | null }).dailySpendCap, null);
    await ask();
  });

  it("allowed models can be narrowed and reopened", async () => {
    assert.equal((await patch(id, { models: ["some-other-model"], name: "narrow" })).status, 200);
    await assert.rejects(ask(), apiError(403, "model_not_allowed"));
    assert.equal((await patch(id, { models: null })).status, 200);
    await ask();
    const listed = (await (await fetch(`${url}/v1/keys`, { headers: { authorization: `Bearer ${session}` } })).json()) as { data: { id: string; name: string; models: string[] | null }[] };
    const listedKey = listed.data.find((k) => k.id === id)!;
    assert.equal(listedKey.name, "narrow");
    assert.equal(listedKey.models, null);
  });

  it("refuses an empty or unknown change with a 400 in OpenAI's error format", async () => {
    for (const bad of [{}, { dailySpendCap: "-5" }, { dailySpendCap: 5 }, { models: [] }, { secret: "x" }]) {
      const res = await patch(id, bad);
      assert.equal(res.status, 400, JSON.stringify(bad));
      const err = (await res.json()) as { error: { type: string; message: string } };
      assert.equal(err.error.type, "invalid_request_error");
    }
  });

  it("only the owner changes a key, and a revoked key stays revoked", async () => {
    const stranger = env.chain.wallet(ANVIL_KEYS[9]!);
    const other = await loginAndCreateKey(url, stranger, env.chain.chainId, { name: "theirs" });
    assert.equal((await patch(id, { dailySpendCap: null }, other.session)).status, 404, "another account's key is not found");
    assert.equal((await patch(id, { name: "x" }, "not-a-session")).status, 401);
    assert.equal((await fetch(`${url}/v1/keys/${id}`, { method: "DELETE", headers: { authorization: `Bearer ${session}` } })).status, 204);
    assert.equal((await patch(id, { name: "back" })).status, 404);
    await assert.rejects(ask(), apiError(401, "invalid_api_key"));
  });

  it("the dApp's origin may send the PATCH preflight", async () => {
    const res = await fetch(`${url}/v1/keys/${id}`, { method: "OPTIONS", headers: { origin: "https://app.tollgate.test", "access-control-request-method": "PATCH", "access-control-request-headers": "authorization, content-type" } });
    assert.equal(res.status, 204);
    assert.match(res.headers.get("access-control-allow-methods") ?? "", /PATCH/);
  });
});
