/**
 * An SLA window that spans a gateway restart: the requests served before the restart still count in
 * the report posted after it (per-minute SLIs and the window's start live in the database).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { slaCreditsAbi } from "@tollgate/protocol";
import { MODEL, freePort, freshDataDir, loginAndCreateKey, removeDir, startEnv, startGateway, startRig, stopRig, waitFor, type Env, type WorkerRig } from "./helpers/stack.ts";
import type { Gateway } from "../src/server.ts";

let env: Env;
let rig: WorkerRig | null = null;
let dataDir: string;
let port: number;
const started: Gateway[] = [];

async function open() {
  const g = await startGateway(env, { port, dataDir, manualLoops: true });
  started.push(g.gw);
  return g;
}
async function traffic(url: string, key: string, n: number) {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
  for (let i = 0; i < n; i++) await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: `request ${i}` }], max_tokens: 4 });
}

before(async () => {
  env = await startEnv({ providers: 1, deposit: 10_000_000n });
  dataDir = await freshDataDir();
  port = await freePort();
});

after(async () => {
  for (const gw of started) await gw.close().catch(() => {});
  if (rig) await stopRig(rig);
  removeDir(dataDir);
  await env?.stop();
});

describe("SLA window across a restart", () => {
  it("the report after a restart counts the requests served before it", async () => {
    const first = await open();
    rig = await startRig(env, first.url, 0);
    await first.gw.follower.syncOnce();
    const { key } = await loginAndCreateKey(first.url, env.customer, env.chain.chainId);
    await traffic(first.url, key, 3);
    await first.gw.close();

    const reopenedAt = Date.now();
    const second = await open();
    await second.gw.follower.syncOnce();
    // Routable again: the worker has heartbeated THIS gateway (an entry loaded from the database is
    // alive for three intervals on its old heartbeat) and its provider's chain state is cached.
    const routable = () => {
      const { registry, reads } = second.gw.ctx;
      return registry.all().some((w) => w.lastSeenMs >= reopenedAt && registry.alive(w) && reads.cachedActive(w.provider) === true && reads.cachedPrice(w.provider, MODEL)?.served === true);
    };
    await waitFor(routable, 15_000, "the worker routable on the restarted gateway").catch((err: Error) => {
      const { registry, reads } = second.gw.ctx;
      const now = Date.now();
      const state = registry.all().map((w) => ({ seenAgoMs: now - w.lastSeenMs, alive: registry.alive(w), active: reads.cachedActive(w.provider), served: reads.cachedPrice(w.provider, MODEL)?.served }));
      throw new Error(`${err.message}: ${JSON.stringify(state)}`);
    });
    await traffic(second.url, key, 2);
    await new Promise((r) => setTimeout(r, 1_100)); // the window must have ended on-chain
    const sent = await second.gw.sla.closeWindow();
    assert.equal(sent, 1);
    const events = await env.chain.publicClient.getContractEvents({ address: env.contracts.slaCredits, abi: slaCreditsAbi, eventName: "SlaReported", fromBlock: 0n });
    const args = events[0]!.args as { requests: number; provider: string };
    assert.equal(args.provider, rig.provider);
    assert.equal(Number(args.requests), 5, "3 requests before the restart + 2 after");
  });
});
