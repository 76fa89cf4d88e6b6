/**
 * The real CLI, killed with SIGKILL in the middle of posting a batch (after persisting it, then
 * after sending it), restarted on the same data directory: no batch lost, none posted twice.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { settlementAbi } from "@tollgate/protocol";
import { GATEWAY_ID, MODEL, freshDataDir, loginAndCreateKey, removeDir, startEnv, followingRig, waitFor, type Env } from "./helpers/stack.ts";

const CLI = fileURLToPath(new URL("../src/cli.ts", import.meta.url));
let env: Env;
let worker: ReturnType<typeof followingRig>;
let dataDir: string;
let key: string | null = null;

function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOST: "127.0.0.1",
    PORT: "0", // each incarnation a port of its own: a reused one can be taken in between
    TOLLGATE_PUBLIC_DOMAIN: "gateway.test",
    TOLLGATE_DATA_DIR: dataDir,
    TOLLGATE_RPC_URL: env.chain.url,
    TOLLGATE_CHAIN_ID: String(env.chain.chainId),
    TOLLGATE_GATEWAY_ID: String(GATEWAY_ID),
    TOLLGATE_SIGNER_KEY: env.gatewaySignerKey,
    TOLLGATE_SETTLEMENT: env.contracts.settlement,
    TOLLGATE_REGISTRY: env.contracts.registry,
    TOLLGATE_STAKING: env.contracts.staking,
    TOLLGATE_SLA_CREDITS: env.contracts.slaCredits,
    TOLLGATE_START_BLOCK: String(env.contracts.deployBlock),
    TOLLGATE_DEVNET: "true",
    TOLLGATE_EPOCH_MS: "3600000",
    TOLLGATE_BATCH_MAX_RECEIPTS: "3",
    TOLLGATE_CHAIN_POLL_MS: "100",
    TOLLGATE_HEARTBEAT_MS: "1000", // alive for 3 beats + 0.5 s: 200 ms (1.1 s) flapped under CI load
    TOLLGATE_PROBE_INTERVAL_MS: "0",
    LOG_LEVEL: "silent",
    ...extra,
  };
}

/** The CLI, started; resolves with the process and the URL it says it listens on. */
async function startCli(extra: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI], { env: cliEnv(extra), stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code, signal) => reject(new Error(`gateway exited early (${code ?? signal})`)));
  });
  return { child, url };
}

const nextBatchId = () => env.chain.publicClient.readContract({ address: env.contracts.settlement, abi: settlementAbi, functionName: "nextBatchId", args: [GATEWAY_ID] }) as Promise<bigint>;
const status = async (url: string) => (await (await fetch(`${url}/status`)).json()) as { batches: Record<string, { count: number }>; unbatchedReceipts: number; workers: { alive: boolean }[] };

before(async () => {
  env = await startEnv({ providers: 1, deposit: 20_000_000n });
  worker = followingRig(env);
  dataDir = await freshDataDir();
});

after(async () => {
  if (dataDir) removeDir(dataDir);
  await worker?.stop();
  await env?.stop();
});

describe("tollgate-gateway killed with SIGKILL while posting a batch", () => {
  for (const stage of ["persisted", "sent"] as const) {
    it(`after the batch is ${stage}: restarted, it neither loses nor repeats the batch`, async () => {
      const before = await nextBatchId();
      const { child, url } = await startCli({ TOLLGATE_CHAOS_KILL_AT: stage });
      const killed = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_c, s) => resolve(s)));
      await worker.serveWith(url);
      await waitFor(async () => (await status(url)).workers.some((w) => w.alive), 10_000, "worker alive");
      key ??= (await loginAndCreateKey(url, env.customer, env.chain.chainId)).key;
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
      await waitFor(async () => {
        try {
          await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hello" }], max_tokens: 5 });
          return true;
        } catch {
          return false; // the balance may not be followed yet
        }
      }, 10_000, "a first request served");
      for (let i = 0; i < 2; i++) await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: `hi ${i}` }], max_tokens: 5 });
      assert.equal(await killed, "SIGKILL", "the gateway died while posting");
      assert.equal(await nextBatchId(), stage === "sent" ? before + 1n : before);

      const { child: restarted, url: restartedUrl } = await startCli();
      try {
        await waitFor(async () => {
          const s = await status(restartedUrl);
          return s.unbatchedReceipts === 0 && (s.batches.settled?.count ?? 0) >= 1 && !s.batches.signed && !s.batches.sent && !s.batches.mined;
        }, 20_000, "every receipt batched and settled");
        await new Promise((r) => setTimeout(r, 1_000)); // a few more epochs: nothing must be posted again
        assert.equal(await nextBatchId(), before + 1n, "exactly one batch for this traffic");
      } finally {
        restarted.kill("SIGTERM");
        await new Promise((r) => restarted.once("exit", r));
      }
    });
  }
});
