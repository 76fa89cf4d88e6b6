/**
 * What the dApp (a web page on another origin) relies on: CORS on its routes for the configured
 * origins only, and the balance buckets of GET /v1/account moving as the customer uses the gateway
 * and asks for a withdrawal on-chain.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { settlementAbi } from "@tollgate/protocol";
import { MODEL, loginAndCreateKey, startEnv, startGateway, startRig, stopRig, waitFor, type Env, type WorkerRig } from "./helpers/stack.ts";
import { write } from "./helpers/chain.ts";
import type { Gateway } from "../src/server.ts";

const DAPP = "https://app.tollgate.test";
let env: Env;
let gw: Gateway;
let url: string;
let rig: WorkerRig;
let session: string;
let key: string;

before(async () => {
  env = await startEnv({ providers: 1, deposit: 10_000_000n });
  ({ gw, url } = await startGateway(env, { corsOrigins: `${DAPP}, http://localhost:5173` }));
  rig = await startRig(env, url, 0);
  await gw.follower.syncOnce();
  ({ key, session } = await loginAndCreateKey(url, env.customer, env.chain.chainId));
});

after(async () => {
  await stopRig(rig);
  await gw?.close();
  await env?.stop();
});

describe("CORS for the dApp", () => {
  it("a preflight from an allowed origin to /v1/keys is answered with that origin", async () => {
    const res = await fetch(`${url}/v1/keys`, { method: "OPTIONS", headers: { origin: DAPP, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" } });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), DAPP);
    assert.match(res.headers.get("access-control-allow-methods") ?? "", /POST/);
    assert.match(res.headers.get("access-control-allow-headers") ?? "", /authorization/);
  });

  it("GET /v1/account from an allowed origin carries the CORS header; another origin gets none", async () => {
    const ok = await fetch(`${url}/v1/account`, { headers: { origin: "http://localhost:5173", authorization: `Bearer ${session}` } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("access-control-allow-origin"), "http://localhost:5173");
    const other = await fetch(`${url}/v1/account`, { headers: { origin: "https://evil.test", authorization: `Bearer ${session}` } });
    assert.equal(other.headers.get("access-control-allow-origin"), null, "a browser on another origin cannot read the answer");
    for (const path of ["/status", "/v1/auth/nonce", "/v1/receipts/0x00", "/v1/batches/1/receipts"]) {
      const r = await fetch(`${url}${path}`, { headers: { origin: DAPP } });
      assert.equal(r.headers.get("access-control-allow-origin"), DAPP, path);
    }
  });

  it("inference routes never answer cross-origin: an API key does not belong in a web page", async () => {
    const res = await fetch(`${url}/v1/chat/completions`, { method: "OPTIONS", headers: { origin: DAPP, "access-control-request-method": "POST" } });
    assert.equal(res.headers.get("access-control-allow-origin"), null);
  });

  it("without TOLLGATE_CORS_ORIGINS no route sends CORS headers", async () => {
    const { gw: plain, url: plainUrl } = await startGateway(env, { dataDir: "memory://" });
    try {
      const res = await fetch(`${plainUrl}/status`, { headers: { origin: DAPP } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("access-control-allow-origin"), null);
    } finally {
      await plain.close();
    }
  });
});

type Account = { available: string; reserved: string; unsettled: string; debt: string; spendable: string; pendingWithdrawal: { amount: string; unlockAt: string | null } | null; asOfBlock: string };
const account = async (): Promise<Account> => {
  const res = await fetch(`${url}/v1/account`, { headers: { authorization: `Bearer ${session}` } });
  assert.equal(res.status, 200);
  return (await res.json()) as Account;
};

describe("GET /v1/account balance buckets", () => {
  it("starts with the deposit available and spendable, nothing reserved, unsettled, owed or pending", async () => {
    const a = await account();
    assert.deepEqual(
      { available: a.available, reserved: a.reserved, unsettled: a.unsettled, debt: a.debt, spendable: a.spendable, pendingWithdrawal: a.pendingWithdrawal },
      { available: "10000000", reserved: "0", unsettled: "0", debt: "0", spendable: "10000000", pendingWithdrawal: { amount: "0", unlockAt: null } },
    );
  });

  it("a served request shows as unsettled and lowers spendable by its charge", async () => {
    const res = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 16 }) });
    assert.equal(res.status, 200);
    await res.json();
    const a = await account();
    assert.ok(BigInt(a.unsettled) > 0n, "the charge waits for settlement");
    assert.equal(a.reserved, "0", "the reservation was released");
    assert.equal(BigInt(a.spendable), BigInt(a.available) - BigInt(a.unsettled));
  });

  it("a withdrawal requested on-chain shows as pending with its unlock time, and is not spendable", async () => {
    await write(env.customer, env.chain.publicClient, env.contracts.settlement, settlementAbi, "requestWithdrawal", [4_000_000n]);
    const a = await waitFor(async () => {
      const x = await account();
      return x.available === "6000000" ? x : null;
    }, 10_000, "the follower to see the withdrawal request");
    assert.equal(a.pendingWithdrawal?.amount, "4000000");
    assert.ok(a.pendingWithdrawal?.unlockAt && Date.parse(a.pendingWithdrawal.unlockAt) > Date.now(), "unlocks in the future");
    assert.equal(BigInt(a.spendable), 6_000_000n - BigInt(a.unsettled));
  });
});
