/**
 * Routing and metering against real worker agents in front of simulators with injected faults:
 * failover before the first token to another provider, a mid-stream failure ending as an error
 * event with a `partial` receipt, a client disconnect cancelling upstream and paying for what was
 * generated, and a worker registration refused by the on-chain checks.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { startWorker, parseModelSpecs } from "@tollgate/worker";
import { startSimulator } from "@tollgate/worker/simulator";
import { MODEL, loginAndCreateKey, startEnv, startGateway, startRig, stopRig, waitFor, type Env, type WorkerRig } from "./helpers/stack.ts";
import type { Gateway } from "../src/server.ts";
import { createLogger } from "../src/shared/log.ts";

let env: Env;
let gw: Gateway;
let url: string;
const rigs: WorkerRig[] = [];
let client: OpenAI;

const receipt = async (id: string) => ((await (await fetch(`${url}/v1/receipts/${id}`)).json()) as { receipt: Record<string, string | number> }).receipt;

before(async () => {
  // Provider 0 is cheaper, so it is always tried first.
  env = await startEnv({ providers: 2, deposit: 100_000_000n, prices: [{ promptPrice: 100_000n, completionPrice: 300_000n }] });
  ({ gw, url } = await startGateway(env));
  await gw.follower.syncOnce();
  ({ key: client } = await loginAndCreateKey(url, env.customer, env.chain.chainId).then(({ key }) => ({ key: new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 }) })));
});

after(async () => {
  for (const r of rigs) await stopRig(r);
  await gw?.close();
  await env?.stop();
});

describe("routing", () => {
  it("fails over to another provider when a worker answers 5xx before the first token", async () => {
    const broken = await startRig(env, url, 0, 0, { errorRate: 1 });
    const healthy = await startRig(env, url, 1, 0);
    rigs.push(broken, healthy);
    for (let i = 0; i < 6; i++) {
      const stream = i % 2 === 0;
      let response: Response;
      if (stream) {
        const r = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: `hi ${i}` }], max_tokens: 8, stream: true }).withResponse();
        response = r.response;
        let text = "";
        for await (const chunk of r.data) text += chunk.choices[0]?.delta?.content ?? "";
        assert.ok(text.length > 0);
      } else {
        const r = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: `hi ${i}` }], max_tokens: 8 }).withResponse();
        response = r.response;
        assert.ok(r.data.choices[0]!.message.content);
      }
      const r = await receipt(response.headers.get("x-tollgate-receipt-id")!);
      assert.equal(r.provider, healthy.provider, "served by the healthy provider");
      assert.equal(r.status, 0);
    }
    assert.ok(broken.sim.stats().requests >= 1, "the cheaper broken worker was tried");
    const w = gw.ctx.registry.all().find((x) => x.worker === privateKeyToAccount(broken.key).address)!;
    assert.ok(w.cooldownUntil > Date.now(), "the failing worker is cooling down");
    await broken.worker.drain();
  });

  it("ends the stream with an error event after the first token, receipt partial and charged for what was generated", async () => {
    const crashing = await startRig(env, url, 0, 1, { crashRate: 1, faultSeed: 7, minCompletionTokens: 40, maxCompletionTokens: 60, tokensPerSecond: 500 });
    rigs.push(crashing);
    const { data: stream, response } = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "tell a story" }], max_tokens: 100, stream: true }).withResponse();
    let text = "";
    await assert.rejects(async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    }, (e: unknown) => e instanceof OpenAI.APIError && !String((e as Error).message).includes("127.0.0.1"));
    assert.ok(text.length > 0, "tokens arrived before the failure");
    const r = await receipt(response.headers.get("x-tollgate-receipt-id")!);
    assert.equal(r.status, 1, "partial");
    assert.equal(r.provider, crashing.provider);
    assert.ok(Number(r.completionTokens) > 0 && BigInt(r.cost as string) > 0n);
    await crashing.worker.drain();
  });

  it("cancels upstream when the client disconnects and charges the tokens generated", async () => {
    const slow = await startRig(env, url, 0, 0, { tokensPerSecond: 20, minCompletionTokens: 200, maxCompletionTokens: 200 });
    rigs.push(slow);
    const ac = new AbortController();
    const { data: stream, response } = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "a long answer" }], max_tokens: 200, stream: true }, { signal: ac.signal }).withResponse();
    let chunks = 0;
    try {
      for await (const _ of stream) if (++chunks === 3) ac.abort();
    } catch {
      // the SDK may or may not raise on abort; what matters is the gateway's side
    }
    assert.equal(chunks, 3, "the client stopped reading after three chunks");
    const id = response.headers.get("x-tollgate-receipt-id")!;
    const r = await waitFor(async () => {
      const res = await fetch(`${url}/v1/receipts/${id}`);
      return res.status === 200 ? ((await res.json()) as { receipt: Record<string, string | number> }).receipt : null;
    }, 5_000, "receipt of the cancelled request");
    assert.equal(r.status, 2, "cancelled");
    assert.ok(Number(r.completionTokens) >= 2 && Number(r.completionTokens) < 200, `paid for what was generated (${r.completionTokens})`);
    await waitFor(() => slow.sim.stats().activeJobs === 0, 3_000, "the simulator stopped generating");
  });

  it("refuses a worker whose key its provider never authorized on-chain", async () => {
    const sim = await startSimulator({ port: 0, models: [{ name: MODEL, contextLength: 8192 }] });
    try {
      await assert.rejects(
        startWorker(
          {
            upstream: sim.url,
            gateway: url,
            gatewayAddress: gw.ctx.signer.address,
            provider: env.providers[0]!.wallet.account.address,
            chainId: env.chain.chainId,
            registry: env.contracts.registry,
            listenPort: 0,
            models: parseModelSpecs(MODEL),
            privateKey: generatePrivateKey(),
            gpuStats: false,
          },
          { logger: createLogger("silent") },
        ),
        /not authorized/,
      );
    } finally {
      await sim.close();
    }
  });
});
