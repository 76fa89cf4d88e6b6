/**
 * Provider state followed from chain events: a worker key revoked on-chain and a provider whose
 * stake is unbonded stop being routed within a few poll intervals (here 100 ms), long before the
 * slow safety refresh (5 min).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { privateKeyToAccount } from "viem/accounts";
import { providerRegistryAbi, providerStakingAbi } from "@tollgate/protocol";
import { MODEL, loginAndCreateKey, startEnv, startGateway, startRig, stopRig, waitFor, type Env, type WorkerRig } from "./helpers/stack.ts";
import { write } from "./helpers/chain.ts";
import type { Gateway } from "../src/server.ts";
import { createLogger } from "../src/shared/log.ts";
import { Writable } from "node:stream";

let env: Env;
let gw: Gateway;
let url: string;
let rigs: WorkerRig[] = [];
let key: string;
/** The gateway's log lines (debug level: routing says why it answered 503). */
const lines: { msg?: string; workers?: { provider: string; reason: string }[] }[] = [];

const complete = () =>
  fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 4 }) });

before(async () => {
  env = await startEnv({ providers: 2, deposit: 10_000_000n });
  const sink = new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) });
  ({ gw, url } = await startGateway(env, { chainPollMs: 100, logger: createLogger("debug", sink as never) }));
  rigs = [await startRig(env, url, 0), await startRig(env, url, 1)];
  await gw.follower.syncOnce();
  ({ key } = await loginAndCreateKey(url, env.customer, env.chain.chainId));
  await waitFor(() => gw.ctx.registry.all().length === 2, 10_000, "both workers registered");
});

after(async () => {
  for (const r of rigs) await stopRig(r);
  await gw?.close();
  await env?.stop();
});

describe("provider events", () => {
  it("a worker key revoked on-chain stops being routed within moments; the other provider serves", async () => {
    const revoked = privateKeyToAccount(env.providers[0]!.workerKeys[0]!).address;
    const t0 = Date.now();
    await write(env.providers[0]!.wallet, env.chain.publicClient, env.contracts.registry, providerRegistryAbi, "revokeWorker", [revoked]);
    await waitFor(() => !gw.ctx.registry.all().some((w) => w.worker === revoked), 3_000, "the revoked worker to leave the registry");
    assert.ok(Date.now() - t0 < 3_000);
    for (let i = 0; i < 5; i++) {
      const res = await complete();
      assert.equal(res.status, 200);
      await res.json();
    }
    const rows = await gw.ctx.db.query(`SELECT DISTINCT worker FROM receipts WHERE created_ms >= $1`, [t0]);
    assert.deepEqual(rows.map((r) => String(r.worker)), [rigs[1]!.worker.address.toLowerCase()], "only the other provider's worker served");
  });

  it("a provider that unbonds its stake stops being routed within moments", async () => {
    await write(env.providers[1]!.wallet, env.chain.publicClient, env.contracts.staking, providerStakingAbi, "unbond", [1_000_000_000n]);
    const provider = env.providers[1]!.wallet.account.address;
    await waitFor(() => gw.ctx.reads.cachedActive(provider) === false, 3_000, "the gateway to see the provider inactive");
    const res = await complete();
    assert.equal(res.status, 503, "no provider is left to serve");
    await res.text();
    const why = lines.filter((l) => l.msg === "no eligible worker").at(-1);
    assert.deepEqual(why?.workers?.find((w) => w.provider === provider)?.reason, "provider inactive (unstaked, jailed or unregistered)", "the 503 says why at debug level");
  });
});
