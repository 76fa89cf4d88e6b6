import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type AddressInfo } from "node:net";
import { spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { startSimulator, type SimulatorHandle } from "../src/simulator/index.ts";
import { startWorker } from "../src/agent/worker.ts";
import { RegistrationRefusedError } from "../src/agent/gateway-client.ts";
import { parseModelSpecs } from "../src/agent/models.ts";
import { silentLogger } from "../src/shared/log.ts";
import { startGatewayDouble, type GatewayDouble } from "./helpers/gateway-double.ts";
import { startStack, PROVIDER } from "./helpers/stack.ts";
import { chatBody, get, post } from "./helpers/client.ts";
import { checkStream } from "./helpers/openai-format.ts";

const MODEL = "sim-llama-3.1-8b-instruct";
const CLI = fileURLToPath(new URL("../src/cli/worker.ts", import.meta.url));

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function workerOptions(gw: GatewayDouble, upstream: string, privateKey: `0x${string}`) {
  return {
    upstream,
    gateway: gw.url,
    gatewayAddress: gw.gatewayAddress,
    provider: PROVIDER,
    chainId: gw.chainId,
    registry: gw.registry,
    listenPort: 0,
    models: parseModelSpecs(`${MODEL}:0x${"ab".repeat(32)}/fp16`),
    maxConcurrency: 3,
    privateKey,
    gpuStats: false,
  };
}

describe("registration", () => {
  let sim: SimulatorHandle;
  before(async () => {
    sim = await startSimulator({ port: 0, ttftMs: 1, tokensPerSecond: 5000, maxCompletionTokens: 20 });
  });
  after(() => sim.close());

  test("the gateway receives a registration it can verify, with what the worker offers", async () => {
    const s = await startStack({ upstream: sim.url, models: `${MODEL}:0x${"ab".repeat(32)}/fp16`, maxConcurrency: 3 });
    try {
      const reg = s.gw.registrations[0]!;
      assert.equal(reg.worker, s.worker.address);
      assert.equal(reg.provider, PROVIDER);
      assert.equal(reg.endpoint, s.worker.url);
      assert.deepEqual(reg.models, [`${MODEL}:0x${"ab".repeat(32)}/fp16`]);
      assert.equal(reg.maxConcurrency, 3);
      assert.equal(reg.gateway, s.gw.gatewayAddress);
      assert.ok(reg.expiresAt > reg.issuedAt);
      assert.equal(s.worker.workerId(), reg.workerId);
    } finally {
      await s.close();
    }
  });

  test("an unauthorized key is refused: startWorker fails and leaves nothing listening", async () => {
    const gw = await startGatewayDouble({ authorized: [] });
    const port = await freePort();
    try {
      await assert.rejects(
        startWorker({ ...workerOptions(gw, sim.url, generatePrivateKey()), listenPort: port }, { logger: silentLogger() }),
        (err: unknown) => err instanceof RegistrationRefusedError && err.status === 403 && /not authorized/.test(err.message),
      );
      await assert.rejects(get(`http://127.0.0.1:${port}/health`), /ECONNREFUSED/);
    } finally {
      await gw.close();
    }
  });

  test("a registration signed for another chain does not verify", async () => {
    const key = generatePrivateKey();
    const gw = await startGatewayDouble({ authorized: [{ worker: privateKeyToAccount(key).address, provider: PROVIDER }] });
    try {
      await assert.rejects(
        startWorker({ ...workerOptions(gw, sim.url, key), chainId: 8453 }, { logger: silentLogger() }),
        (err: unknown) => err instanceof RegistrationRefusedError && err.status === 401,
      );
    } finally {
      await gw.close();
    }
  });

  test("when the gateway forgets the worker, the next heartbeat re-registers with a new token", async () => {
    const s = await startStack({ upstream: sim.url });
    try {
      const oldToken = s.token();
      s.gw.forgetAll();
      await s.gw.waitFor(() => s.gw.registrations.length === 2);
      assert.notEqual(s.token(), oldToken);
      assert.ok(BigInt(s.gw.registrations[1]!.issuedAt) > BigInt(s.gw.registrations[0]!.issuedAt), "newer than the last registration, even within the same second (the gateway refuses anything else)");
      await s.gw.waitFor(() => s.worker.workerId() === s.gw.registrations[1]!.workerId);
      assert.equal((await post(s.chatUrl, chatBody(), { token: oldToken })).status, 401);
      assert.equal((await post(s.chatUrl, chatBody(), { token: s.token() })).status, 200);
    } finally {
      await s.close();
    }
  });
  test("a key revoked on-chain: re-registration is refused, the worker stops serving and reports it", async () => {
    let fatal: Error | null = null;
    const s = await startStack({ upstream: sim.url }, (err) => (fatal = err));
    try {
      const token = s.token();
      s.gw.revokeAll();
      await s.gw.waitFor(() => fatal);
      assert.ok(fatal! instanceof RegistrationRefusedError);
      const r = await post(s.chatUrl, chatBody(), { token });
      assert.equal(r.status, 503);
      assert.equal(r.json().error.code, "not_registered");
    } finally {
      await s.close();
    }
  });
});

describe("drain", () => {
  test("drain finishes in-flight streams, refuses new requests, deregisters and stops listening", async () => {
    const sim = await startSimulator({ port: 0, ttftMs: 20, ttftSigma: 0, tokensPerSecond: 60 });
    const s = await startStack({ upstream: sim.url });
    try {
      const body = chatBody({ stream: true, max_tokens: 30, ignore_eos: true });
      const inflight = [post(s.chatUrl, body, { token: s.token() }), post(s.chatUrl, body, { token: s.token() })];
      await s.gw.waitFor(() => s.worker.state().inFlight === 2);
      const drained = s.worker.drain();
      await s.gw.waitFor(() => s.worker.state().draining);

      const refused = await post(s.chatUrl, chatBody(), { token: s.token() });
      assert.equal(refused.status, 503);
      assert.equal(refused.json().error.code, "draining");

      for (const r of await Promise.all(inflight)) {
        const out = checkStream(r.events, "chat", MODEL);
        assert.equal(out.usage.completion_tokens, 30, "in-flight streams run to the end");
      }
      const result = await drained;
      assert.deepEqual(result, { finishedInFlight: 2, abandoned: 0, deregistered: true });
      assert.deepEqual(s.gw.deregistrations, [s.worker.workerId()]);
      assert.ok(s.gw.heartbeats.some((h) => h.body.draining === true), "the gateway heard about the drain at once");
      await assert.rejects(get(`${s.worker.url}/health`), /ECONNREFUSED/);
    } finally {
      await s.close();
      await sim.close();
    }
  });
});

type Proc = { out: string; exit: Promise<number | null>; kill(sig: NodeJS.Signals): void; waitFor(re: RegExp): Promise<RegExpExecArray> };

function runCli(args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc: Proc = {
    out: "",
    exit: new Promise((r) => child.once("exit", (code) => r(code))),
    kill: (sig) => child.kill(sig),
    waitFor: (re) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(proc.out);
          if (m) return resolve(m);
          if (child.exitCode !== null) return reject(new Error(`process exited: ${proc.out}`));
          setTimeout(check, 20);
        };
        check();
      }),
  };
  child.stdout.on("data", (d: Buffer) => (proc.out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (proc.out += d.toString()));
  return proc;
}

describe("tollgate-worker CLI", () => {
  let sim: SimulatorHandle;
  before(async () => {
    sim = await startSimulator({ port: 0, ttftMs: 20, ttftSigma: 0, tokensPerSecond: 100 });
  });
  after(() => sim.close());

  const flags = (gw: GatewayDouble) => [
    "--upstream", sim.url, "--runtime", "vllm", "--gateway", gw.url, "--gateway-address", gw.gatewayAddress,
    "--provider", PROVIDER, "--chain-id", String(gw.chainId), "--registry", gw.registry,
    "--listen", "127.0.0.1:0", "--models", MODEL, "--max-concurrency", "4",
  ];

  test("SIGTERM drains: the in-flight stream completes, the worker deregisters and exits 0; logs hold no secrets or text", async () => {
    const key = generatePrivateKey();
    const gw = await startGatewayDouble({ authorized: [{ worker: privateKeyToAccount(key).address, provider: PROVIDER }] });
    try {
      const proc = runCli(flags(gw), { TOLLGATE_WORKER_KEY: key });
      const [, url] = await proc.waitFor(/serving at (http:\/\/127\.0\.0\.1:\d+)/);
      const token = gw.registrations[0]!.token;
      const secretPrompt = "my confidential prompt 4711";
      const stream = post(`${url}/v1/chat/completions`, chatBody({ messages: [{ role: "user", content: secretPrompt }], stream: true, max_tokens: 100, ignore_eos: true }), { token });
      await gw.waitFor(() => gw.heartbeats.some((h) => h.body.inFlight === 1), 5000);
      proc.kill("SIGTERM");
      const r = await stream;
      const out = checkStream(r.events, "chat", MODEL);
      assert.equal(out.usage.completion_tokens, 100);
      assert.equal(await proc.exit, 0);
      assert.deepEqual(gw.deregistrations, [gw.registrations[0]!.workerId]);
      assert.match(proc.out, /"msg":"request"/, "requests are logged");
      for (const secret of [token, key.slice(2), secretPrompt, out.text.slice(0, 40)]) {
        assert.ok(!proc.out.includes(secret), "logs must not contain tokens, keys, prompts or outputs");
      }
    } finally {
      await gw.close();
    }
  });

  test("the key cannot be given as a flag", async () => {
    const proc = runCli(["--private-key", generatePrivateKey()], {});
    assert.equal(await proc.exit, 1);
    assert.match(proc.out, /Unknown option '--private-key'/);
  });

  test("keygen writes an encrypted keystore the worker then runs with", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tollgate-keygen-"));
    const keystore = join(dir, "worker.json");
    const password = "correct horse battery";
    const gen = runCli(["keygen", "--keystore", keystore], { TOLLGATE_KEYSTORE_PASSWORD: password });
    assert.equal(await gen.exit, 0, gen.out);
    const address = /worker address: (0x[0-9a-fA-F]{40})/.exec(gen.out)![1] as `0x${string}`;
    assert.equal((await stat(keystore)).mode & 0o777, 0o600);
    const again = runCli(["keygen", "--keystore", keystore], { TOLLGATE_KEYSTORE_PASSWORD: password });
    assert.equal(await again.exit, 1, "never overwrites a key");

    const gw = await startGatewayDouble({ authorized: [{ worker: address, provider: PROVIDER }] });
    try {
      const wrong = runCli([...flags(gw), "--keystore", keystore], { TOLLGATE_KEYSTORE_PASSWORD: "wrong password" });
      assert.equal(await wrong.exit, 1);
      assert.match(wrong.out, /cannot decrypt/);

      const proc = runCli([...flags(gw), "--keystore", keystore], { TOLLGATE_KEYSTORE_PASSWORD: password });
      await proc.waitFor(/serving at/);
      assert.equal(gw.registrations[0]!.worker, address);
      proc.kill("SIGTERM");
      assert.equal(await proc.exit, 0);
    } finally {
      await gw.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a refused registration exits 1 with the gateway's reason", async () => {
    const gw = await startGatewayDouble({ authorized: [] });
    try {
      const proc = runCli(flags(gw), { TOLLGATE_WORKER_KEY: generatePrivateKey() });
      assert.equal(await proc.exit, 1);
      assert.match(proc.out, /refused this worker \(HTTP 403\): worker key is not authorized/);
    } finally {
      await gw.close();
    }
  });
});
