/**
 * Keys, SIWE, the worker-URL policy, configuration errors and log redaction: the promises a
 * customer, a provider and an operator rely on.
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { createSiweMessage } from "viem/siwe";
import { slaCreditsAbi } from "@tollgate/protocol";
import { startWorker, parseModelSpecs } from "@tollgate/worker";
import { startSimulator } from "@tollgate/worker/simulator";
import { MODEL, loginAndCreateKey, startEnv, startGateway, startRig, stopRig, type Env, type WorkerRig } from "./helpers/stack.ts";
import { generateKey, keyLooksValid, sha256 } from "../src/auth/keys.ts";
import { endpointAllowed, isPublicAddress, safeLookup } from "../src/routing/ssrf.ts";
import { configFromEnv, ConfigError } from "../src/config.ts";
import { createLogger } from "../src/shared/log.ts";
import type { Gateway } from "../src/server.ts";

let env: Env;
let gw: Gateway;
let url: string;
let rig: WorkerRig;
let logText = "";

before(async () => {
  env = await startEnv({ providers: 1, deposit: 10_000_000n });
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logText += chunk.toString();
      cb();
    },
  });
  ({ gw, url } = await startGateway(env, { logger: createLogger("trace", sink as never) }));
  rig = await startRig(env, url, 0);
  await gw.follower.syncOnce();
});

after(async () => {
  await stopRig(rig);
  await gw?.close();
  await env?.stop();
});

describe("API keys", () => {
  it("are 256-bit, prefixed, checksummed, and stored only as SHA-256", async () => {
    const k = generateKey("test");
    assert.match(k, /^tg_test_[0-9A-Za-z]{49}$/);
    assert.ok(keyLooksValid(k));
    const typo = k.slice(0, 20) + (k[20] === "a" ? "b" : "a") + k.slice(21);
    assert.equal(keyLooksValid(typo), false, "a mistyped key fails its checksum without a lookup");
    assert.notEqual(generateKey("test"), generateKey("test"));
    const { key } = await loginAndCreateKey(url, env.customer, env.chain.chainId, { name: "stored", dailySpendCap: "1000000", models: [MODEL] });
    const rows = await gw.ctx.db.query(`SELECT * FROM api_keys`);
    assert.ok(rows.some((r) => r.hash === sha256(key)));
    assert.ok(!JSON.stringify(rows).includes(key), "the key itself is nowhere in the database");
  });

  it("a key limited to some models cannot use others", async () => {
    const { key } = await loginAndCreateKey(url, env.customer, env.chain.chainId, { name: "limited", models: ["other-model"] });
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
    await assert.rejects(client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] }), (e: unknown) => e instanceof OpenAI.APIError && e.status === 403);
    assert.equal((await client.models.list()).data.length, 0, "and does not see them listed");
  });
});

describe("Sign-In with Ethereum", () => {
  async function message(over: Partial<Parameters<typeof createSiweMessage>[0]> = {}) {
    const { nonce } = (await (await fetch(`${url}/v1/auth/nonce`)).json()) as { nonce: string };
    const msg = createSiweMessage({
      domain: "gateway.test",
      address: env.customer.account.address,
      uri: "https://gateway.test",
      version: "1",
      chainId: env.chain.chainId,
      nonce,
      expirationTime: new Date(Date.now() + 600_000),
      ...over,
    });
    return { message: msg, signature: await env.customer.account.signMessage({ message: msg }) };
  }
  const login = (body: unknown) => fetch(`${url}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  it("accepts a good login once: the nonce is single use", async () => {
    const m = await message();
    assert.equal((await login(m)).status, 200);
    const replay = await login(m);
    assert.equal(replay.status, 401);
    assert.equal(((await replay.json()) as { error: { code: string } }).error.code, "siwe_bad_nonce");
  });

  it("refuses another domain, another chain, an expired message, a made-up nonce and a wrong signer", async () => {
    assert.equal((await login(await message({ domain: "evil.example" }))).status, 401);
    assert.equal((await login(await message({ chainId: 8453 }))).status, 401);
    assert.equal((await login(await message({ issuedAt: new Date(Date.now() - 7_200_000), expirationTime: new Date(Date.now() - 3_600_000) }))).status, 401);
    assert.equal((await login(await message({ nonce: "madeup12345678" }))).status, 401);
    const m = await message();
    const other = await env.deployer.account.signMessage({ message: m.message });
    assert.equal((await login({ message: m.message, signature: other })).status, 401);
  });

  it("a session manages keys but is not an API key", async () => {
    const m = await message();
    const { session } = (await (await login(m)).json()) as { session: string };
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: session, maxRetries: 0 });
    await assert.rejects(client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] }), OpenAI.AuthenticationError);
  });

  it("limits sign-in requests per client address: nonces cannot be used to fill the database", async () => {
    const limited = await startGateway(env, { authRequestsPerMinute: 3 });
    try {
      const nonces = async () => Number((await limited.gw.ctx.db.query(`SELECT COUNT(*) AS n FROM siwe_nonces`))[0]!.n);
      const login = () => fetch(`${limited.url}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      for (let i = 0; i < 3; i++) {
        assert.equal((await fetch(`${limited.url}/v1/auth/nonce`)).status, 200);
        assert.equal((await login()).status, 400);
      }
      for (const r of [await fetch(`${limited.url}/v1/auth/nonce`), await login()]) {
        assert.equal(r.status, 429);
        assert.ok(Number(r.headers.get("retry-after")) >= 1, "retry-after in seconds");
        const body = (await r.json()) as { error: { type: string; code: string; message: string } };
        assert.equal(body.error.type, "rate_limit_error");
        assert.equal(body.error.code, "sign_in_rate_limited");
      }
      assert.equal(await nonces(), 3, "refused requests wrote nothing");
      // Routes that need a session or a key are not counted against sign-in.
      assert.equal((await fetch(`${limited.url}/v1/models`)).status, 401);
    } finally {
      await limited.gw.close();
    }
  });

  it("behind a trusted proxy, each client address has its own sign-in allowance", async () => {
    const proxied = await startGateway(env, { authRequestsPerMinute: 1, trustProxy: "127.0.0.1" });
    try {
      const nonceFor = (client: string) => fetch(`${proxied.url}/v1/auth/nonce`, { headers: { "x-forwarded-for": client } });
      assert.equal((await nonceFor("203.0.113.7")).status, 200);
      assert.equal((await nonceFor("203.0.113.7")).status, 429);
      assert.equal((await nonceFor("198.51.100.9")).status, 200, "another customer behind the same proxy");
    } finally {
      await proxied.gw.close();
    }
  });
});

describe("worker endpoints are untrusted", () => {
  it("refuses private, loopback, metadata and odd-notation addresses outside devnet", () => {
    for (const u of [
      "http://worker.example.com",
      "https://127.0.0.1",
      "https://169.254.169.254/latest",
      "https://[::1]",
      "https://[::ffff:7f00:1]",
      "https://10.0.0.5",
      "https://192.168.1.1",
      "https://100.64.0.1",
      "https://2130706433",
      "https://0x7f000001",
      "https://0177.0.0.1",
      "https://localhost",
      "https://user:pw@worker.example.com",
    ]) {
      assert.equal(endpointAllowed(u, false).ok, false, u);
    }
    assert.equal(endpointAllowed("https://worker1.provider.example", false).ok, true);
    assert.equal(isPublicAddress("8.8.8.8"), true);
    assert.equal(isPublicAddress("::ffff:127.0.0.1"), false);
    assert.equal(isPublicAddress("fd00::1"), false);
  });

  it("checks every resolved address at connect time", async () => {
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => safeLookup("localhost", {}, (e) => resolve(e)));
    assert.equal(err?.code, "ESSRF");
  });

  it("a production gateway refuses a worker registering a loopback URL", async () => {
    const prod = await startGateway(env, { devnet: false, logger: createLogger("silent") });
    const sim = await startSimulator({ port: 0, models: [{ name: MODEL, contextLength: 8192 }] });
    try {
      await assert.rejects(
        startWorker(
          {
            upstream: sim.url,
            gateway: prod.url,
            gatewayAddress: prod.gw.ctx.signer.address,
            provider: env.providers[0]!.wallet.account.address,
            chainId: env.chain.chainId,
            registry: env.contracts.registry,
            listenPort: 0,
            publicUrl: "https://127.0.0.1:8443",
            models: parseModelSpecs(MODEL),
            privateKey: env.providers[0]!.workerKeys[1]!,
            gpuStats: false,
          },
          { logger: createLogger("silent") },
        ),
        /endpoint refused/,
      );
    } finally {
      await sim.close();
      await prod.gw.close();
    }
  });
});

describe("operations", () => {
  it("names every configuration mistake by its environment variable", () => {
    assert.throws(
      () => configFromEnv({ TOLLGATE_RPC_URL: "not a url", TOLLGATE_CHAIN_ID: "abc", TOLLGATE_SIGNER_KEY: "0x12", PORT: "99999" }),
      (e: unknown) =>
        e instanceof ConfigError &&
        ["TOLLGATE_RPC_URL", "TOLLGATE_CHAIN_ID", "TOLLGATE_SIGNER_KEY", "PORT", "TOLLGATE_GATEWAY_ID", "TOLLGATE_SETTLEMENT"].every((n) => e.message.includes(n)) &&
        !e.message.includes("0x12"),
    );
  });

  it("never logs prompts, outputs, API keys or auth headers", async () => {
    const { key } = await loginAndCreateKey(url, env.customer, env.chain.chainId, { name: "log-check" });
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
    const prompt = "MY-PRIVATE-PROMPT-7731";
    const r = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: prompt }], max_tokens: 8 });
    await client.chat.completions.create({ model: "nope", messages: [{ role: "user", content: prompt }] }).catch(() => {});
    const output = r.choices[0]!.message.content!;
    assert.ok(logText.length > 0, "the gateway did log");
    assert.ok(!logText.includes(prompt), "no prompt");
    assert.ok(!logText.includes(key), "no API key");
    assert.ok(!logText.includes(output), "no output");
    assert.ok(!logText.toLowerCase().includes("bearer "), "no auth header");
  });

  it("serves /status and Prometheus /metrics", async () => {
    const s = (await (await fetch(`${url}/status`)).json()) as { status: string; workers: unknown[]; providers: unknown[] };
    assert.equal(s.status, "ok");
    assert.equal(s.workers.length, 1);
    const m = await (await fetch(`${url}/metrics`)).text();
    assert.match(m, /tollgate_requests_total\{endpoint="chat",status="200"\} \d+/);
    assert.match(m, /tollgate_time_to_first_token_seconds_bucket/);
  });

  it("probes workers and measures SLIs per provider", async () => {
    await gw.prober.probeAll();
    const snap = gw.ctx.sli.snapshot(rig.provider)!;
    assert.ok(snap.requests >= 1);
    assert.ok(snap.ttftMs.p50 > 0 && snap.ttftMs.p99 >= snap.ttftMs.p50);
    assert.equal(snap.rate5xx, 0);
  });

  it("posts a signed SLA report per provider at the end of the window", async () => {
    await new Promise((r) => setTimeout(r, 1100)); // the window must have ended on-chain
    const sent = await gw.sla.closeWindow();
    assert.ok(sent >= 1, "at least one report submitted");
    const events = await env.chain.publicClient.getContractEvents({ address: env.contracts.slaCredits, abi: slaCreditsAbi, eventName: "SlaReported", fromBlock: 0n });
    assert.equal(events.length, sent);
    assert.equal((events[0]!.args as { provider: string }).provider, rig.provider);
  });
});
