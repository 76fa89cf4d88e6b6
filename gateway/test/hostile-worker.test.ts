/**
 * A worker that does not run our agent, or a compromised one, answering a non-streamed request with
 * a JSON body that never ends. The gateway reads at most 64 KiB + 1 KiB per token of budget, cuts
 * the connection, answers the customer 503 in OpenAI's format and charges nothing.
 *
 * The hostile part is an HTTP front in front of a real worker agent (its advertised `publicUrl`):
 * everything else passes through to the agent, so registration and health are real.
 */
import assert from "node:assert/strict";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, it } from "node:test";
import { startWorker } from "@tollgate/worker";
import { startSimulator } from "@tollgate/worker/simulator";
import { MODEL, loginAndCreateKey, startEnv, startGateway, waitFor, workerOptions, type Env } from "./helpers/stack.ts";
import type { Gateway } from "../src/server.ts";
import { createLogger } from "../src/shared/log.ts";

let env: Env;
let gw: Gateway;
let url: string;
let key: string;
let session: string;
let front: Server;
let stop: () => Promise<void>;
/** Bytes the front had written of its endless body when the gateway hung up. */
const cutAt: number[] = [];

before(async () => {
  env = await startEnv({ providers: 1, deposit: 20_000_000n });
  ({ gw, url } = await startGateway(env));
  const sim = await startSimulator({ port: 0, ttftMs: 5, tokensPerSecond: 2_000, minCompletionTokens: 8, maxCompletionTokens: 16, models: [{ name: MODEL, contextLength: 8192 }] });
  let agent = "";
  front = createServer(async (req, res) => {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    if (raw.includes('"content":"endless json"')) {
      res.writeHead(200, { "content-type": "application/json" });
      res.write(`{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"`);
      let written = 0;
      const pump = () => {
        while (!res.destroyed && res.write("lorem ipsum ".repeat(1_000))) written += 12_000;
        if (!res.destroyed) res.once("drain", pump);
      };
      res.on("close", () => cutAt.push(written));
      pump();
      return;
    }
    const up = httpRequest(`${agent}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.end(raw);
  });
  await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
  const frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  const worker = await startWorker(workerOptions(env, url, sim.url, 0, 0, { publicUrl: frontUrl }), { logger: createLogger("silent") });
  agent = worker.url;
  stop = async () => {
    await worker.close().catch(() => {});
    await sim.close().catch(() => {});
    front.closeAllConnections();
    await new Promise((r) => front.close(r));
  };
  await gw.follower.syncOnce();
  await waitFor(() => gw.ctx.registry.all().some((w) => gw.ctx.registry.alive(w)), 10_000, "worker registered");
  ({ key, session } = await loginAndCreateKey(url, env.customer, env.chain.chainId));
});

after(async () => {
  await stop?.();
  await gw?.close();
  await env?.stop();
});

const chat = (content: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content }], max_tokens: 8 }),
  });

it("a non-streamed answer that never ends is cut off: 503 upstream_malformed, nothing charged", async () => {
  const ok = await chat("hello");
  assert.equal(ok.status, 200, "the same worker answers honest requests");
  await ok.json();
  const account = async () => (await (await fetch(`${url}/v1/account`, { headers: { authorization: `Bearer ${session}` } })).json()) as { reserved: string; unsettled: string };
  const before = await account();

  const r = await chat("endless json");
  assert.equal(r.status, 503);
  const body = (await r.json()) as { error: { code: string; type: string; message: string } };
  assert.equal(body.error.code, "upstream_malformed");
  assert.doesNotMatch(JSON.stringify(body), /127\.0\.0\.1|lorem/, "neither the worker's address nor its output");

  await waitFor(() => cutAt.length > 0, 10_000, "the gateway hung up on the worker");
  // 64 KiB + 8 × 1 KiB of budget, plus what was in flight in the socket buffers when it hung up.
  assert.ok(cutAt[0]! < 8 * 1024 * 1024, `the worker wrote ${cutAt[0]} bytes before the gateway hung up`);
  const afterwards = await account();
  assert.equal(afterwards.reserved, "0", "the reservation is released");
  assert.equal(afterwards.unsettled, before.unsettled, "nothing charged for a malformed answer");
});
