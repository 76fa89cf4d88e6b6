/**
 * An SLA window that spans a gateway restart: the requests served before the restart still count in
 * the report posted after it (per-minute SLIs and the window's start live in the database).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { slaCreditsAbi } from "@tollgate/protocol";
import { MODEL, freshDataDir, loginAndCreateKey, removeDir, startEnv, startGateway, startRig, stopRig, waitFor, type Env, type WorkerRig } from "./helpers/stack.ts";
import type { Gateway } from "../src/server.ts";

let env: Env;
let rig: WorkerRig | null = null;
let dataDir: string;
const started: Gateway[] = [];

/** A new incarnation on the same data, on a port of its own (a reused port can be taken meanwhile). */
async function open() {
  const g = await startGateway(env, { port: 0, dataDir, manualLoops: true });
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
    const firstRegisteredAt = Date.now();
    await first.gw.follower.syncOnce();
    const { key } = await loginAndCreateKey(first.url, env.customer, env.chain.chainId);
    await traffic(first.url, key, 3);
    await first.gw.close();

    const second = await open();
    await second.gw.follower.syncOnce();
    // The worker follows the gateway to its new address. issuedAt has one-second resolution and a
    // registration must be newer than the last one accepted.
    await stopRig(rig);
    await new Promise((r) => setTimeout(r, Math.max(0, (Math.floor(firstRegisteredAt / 1000) + 1) * 1000 - Date.now())));
    rig = await startRig(env, second.url, 0);
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
