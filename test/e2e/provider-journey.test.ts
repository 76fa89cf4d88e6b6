/**
 * A new provider on the devnet, exactly as README.md and worker/README.md tell it: a fresh anvil
 * account registers with `tollgate-provider`, is told how to get test USDC when it has none, gets it
 * from the devnet faucet, stakes, creates a worker key with `tollgate-worker keygen`, authorizes it,
 * runs `tollgate-worker` in front of a runtime (the simulator), and a customer's `openai` request
 * for its model is served by it and receipted to it.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { privateKeyToAccount } from "viem/accounts";
import { ANVIL_KEYS } from "@tollgate/protocol/devnet";
import { startSimulator } from "@tollgate/worker/simulator";
import { REPO_ROOT, startTestNet, waitFor, type TestNet } from "./helpers.ts";

const PROVIDER_KEY = ANVIL_KEYS[6]!; // not a demo account: starts with ETH only
const provider = privateKeyToAccount(PROVIDER_KEY).address;
const MODEL = "journey-llama-3.1-8b";

type Result = { code: number | null; stdout: string; stderr: string };
const children: ChildProcess[] = [];

function run(script: string, args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(REPO_ROOT, script), ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
    p.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    p.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

let net: TestNet;
let dir: string;
let manifestPath: string;
let sim: Awaited<ReturnType<typeof startSimulator>>;
const providerCli = (args: string[]) =>
  run("worker/src/cli/provider.ts", args, { TOLLGATE_RPC_URL: net.manifest.rpcUrl, TOLLGATE_DEPLOYMENT: manifestPath, TOLLGATE_PROVIDER_KEY: PROVIDER_KEY });

before(async () => {
  net = await startTestNet({ indexer: false });
  manifestPath = join(net.dataDir, "devnet.json");
  dir = mkdtempSync(join(tmpdir(), "tollgate-e2e-provider-"));
  sim = await startSimulator({ port: 0, models: [{ name: "meta-llama/Llama-3.1-8B-Instruct", contextLength: 8192 }], ttftMs: 20, tokensPerSecond: 500 });
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  await sim?.close();
  await net?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("a new provider on the devnet", () => {
  it("registers, is told where to get test USDC, gets it from the faucet, stakes, runs a worker and serves a customer", async () => {
    const reg = await providerCli(["register", "--gpu-model", "NVIDIA H100 80GB", "--gpu-count", "8", "--vram-gb", "80", "--region", "eu-west", "--model", `${MODEL}:0.20:0.60`]);
    assert.equal(reg.code, 0, reg.stderr);

    // No USDC yet: the refusal says how much is missing, once, and where a devnet gets it.
    const broke = await providerCli(["stake", "100"]);
    assert.equal(broke.code, 1);
    assert.match(broke.stderr, new RegExp(`your USDC balance is 0\\.00 USDC; get 100\\.00 USDC more on this chain first \\(devnet: \`npm run faucet -w devnet -- ${provider}\`\\)`));
    assert.doesNotMatch(broke.stderr, /USDC more USDC/);

    const faucet = await run("devnet/src/faucet.ts", [provider, "--manifest", manifestPath]);
    assert.equal(faucet.code, 0, faucet.stderr);
    assert.match(faucet.stdout, new RegExp(`sent 1000\\.00 test USDC to ${provider} .* it now holds 1000\\.00 USDC`));
    const bad = await run("devnet/src/faucet.ts", ["0x1234", "--manifest", manifestPath]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /"0x1234" is not an address/);

    const staked = await providerCli(["stake", "100"]);
    assert.equal(staked.code, 0, staked.stderr);
    assert.match(staked.stdout, /at or above the minimum 100\.00 USDC: routable/);

    // The worker key: keygen names the command that authorizes it.
    const keystore = join(dir, "worker-1.json");
    const password = { TOLLGATE_KEYSTORE_PASSWORD: "a long passphrase" };
    const keygen = await run("worker/src/cli/worker.ts", ["keygen", "--keystore", keystore], password);
    assert.equal(keygen.code, 0, keygen.stderr);
    const workerAddress = /worker address: (0x[0-9a-fA-F]{40})/.exec(keygen.stdout)![1]!;
    assert.match(keygen.stdout, new RegExp(`tollgate-provider authorize-worker ${workerAddress}`));
    const auth = await providerCli(["authorize-worker", workerAddress]);
    assert.equal(auth.code, 0, auth.stderr);

    const m = net.manifest;
    const listen = `127.0.0.1:${await freePort()}`;
    const worker = spawn(
      process.execPath,
      [
        join(REPO_ROOT, "worker/src/cli/worker.ts"),
        "--runtime", "vllm",
        "--upstream", sim.url,
        "--models", `${MODEL}=meta-llama/Llama-3.1-8B-Instruct`,
        "--keystore", keystore,
        "--gateway", m.gatewayUrl,
        "--gateway-address", m.accounts.gatewaySigner.address,
        "--provider", provider,
        "--chain-id", String(m.chainId),
        "--registry", m.deployment.contracts.providerRegistry,
        "--listen", listen,
      ],
      { cwd: REPO_ROOT, env: { ...process.env, ...password }, stdio: ["ignore", "pipe", "pipe"] },
    );
    children.push(worker);
    let out = "";
    worker.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    worker.stderr!.on("data", (c: Buffer) => (out += c.toString()));
    await waitFor(() => {
      if (worker.exitCode !== null) throw new Error(`tollgate-worker exited ${worker.exitCode}:\n${out}`);
      return /serving at http/.test(out);
    }, 60_000, "the new provider's worker to register");

    // A customer asks for the model only this provider serves.
    const client = new OpenAI({ baseURL: `${m.gatewayUrl}/v1`, apiKey: m.apiKey, maxRetries: 0 });
    const { data, response } = await waitFor(async () => {
      try {
        return await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Hello, new provider" }], max_tokens: 8 }).withResponse();
      } catch (err) {
        if ((err as { status?: number }).status === 503) return null; // the gateway's routing table catches up with the stake
        throw err;
      }
    }, 30_000, `a completion of ${MODEL}`);
    assert.equal(data.model, MODEL);
    assert.ok(data.usage!.completion_tokens > 0);
    const receiptId = response.headers.get("x-tollgate-receipt-id");
    const receipt = (await (await fetch(`${m.gatewayUrl}/v1/receipts/${receiptId}`)).json()) as { receipt: { provider: string; worker: string; modelName: string } };
    assert.equal(receipt.receipt.provider.toLowerCase(), provider.toLowerCase(), "receipted to the new provider");
    assert.equal(receipt.receipt.worker.toLowerCase(), workerAddress.toLowerCase());
    assert.equal(receipt.receipt.modelName, MODEL);

    worker.kill("SIGTERM");
    assert.equal(await new Promise((resolve) => worker.once("exit", resolve)), 0, out);
  });
});
