#!/usr/bin/env node
/**
 * tollgate-worker — runs the worker agent next to an OpenAI-compatible runtime, or creates its key.
 *
 *   tollgate-worker keygen --keystore ./worker-key.json        (password in TOLLGATE_KEYSTORE_PASSWORD)
 *   tollgate-worker --upstream http://127.0.0.1:8000/v1 --runtime vllm --gateway https://gw.example \
 *     --gateway-address 0x… --provider 0x… --chain-id 8453 --registry 0x… --models llama-3.1-8b-instruct \
 *     --listen 127.0.0.1:8090 --public-url https://worker1.example.com --keystore ./worker-key.json
 *
 * Every flag also reads an environment variable (shown in --help). The private key is never a flag.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { createLogger } from "../shared/log.ts";
import { startWorker } from "../agent/worker.ts";
import type { WorkerOptions } from "../agent/config.ts";
import { parseModelSpecs } from "../agent/models.ts";
import { createKeystore, KeyError, loadPrivateKey } from "../agent/keys.ts";
import { RegistrationRefusedError } from "../agent/gateway-client.ts";
import { RUNTIMES } from "../agent/runtimes.ts";

const FLAGS = {
  upstream: ["TOLLGATE_UPSTREAM", "runtime's OpenAI-compatible base URL incl. /v1 (e.g. http://127.0.0.1:8000/v1)"],
  runtime: ["TOLLGATE_RUNTIME", `${RUNTIMES.join("|")} (default openai)`],
  gateway: ["TOLLGATE_GATEWAY", "gateway base URL (e.g. https://gateway.example)"],
  "gateway-address": ["TOLLGATE_GATEWAY_ADDRESS", "the gateway's signer address, bound into the signed registration"],
  provider: ["TOLLGATE_PROVIDER", "your provider address (the account that authorized this worker key)"],
  "chain-id": ["TOLLGATE_CHAIN_ID", "chain id (8453 Base, 84532 Base Sepolia, 31337 devnet)"],
  registry: ["TOLLGATE_REGISTRY", "ProviderRegistry contract address"],
  listen: ["TOLLGATE_LISTEN", "host:port to listen on (default 127.0.0.1:8090)"],
  "public-url": ["TOLLGATE_PUBLIC_URL", "URL the gateway calls (default http://<listen>)"],
  models: ["TOLLGATE_MODELS", "name[:modelHash[/quant]][=upstreamName],..."],
  "max-concurrency": ["TOLLGATE_MAX_CONCURRENCY", "requests served at once (default 8)"],
  keystore: ["TOLLGATE_KEYSTORE", "encrypted keystore file (password in TOLLGATE_KEYSTORE_PASSWORD)"],
  "first-token-timeout-ms": ["TOLLGATE_FIRST_TOKEN_TIMEOUT_MS", "give up on a stream without a first token (default 60000)"],
  "idle-timeout-ms": ["TOLLGATE_IDLE_TIMEOUT_MS", "give up on a stream silent this long (default 30000)"],
  "request-timeout-ms": ["TOLLGATE_REQUEST_TIMEOUT_MS", "give up on a non-stream request (default 600000)"],
  "drain-timeout-ms": ["TOLLGATE_DRAIN_TIMEOUT_MS", "longest wait for in-flight requests on SIGTERM (default 300000)"],
  "log-level": ["LOG_LEVEL", "pino level (default info)"],
} as const;

type Flag = keyof typeof FLAGS;

const HELP = `tollgate-worker — Tollgate provider worker agent

usage:
  tollgate-worker [flags]                     run the agent
  tollgate-worker keygen --keystore <file>    create a new encrypted worker key

The worker key comes from TOLLGATE_WORKER_KEY (hex) or --keystore + TOLLGATE_KEYSTORE_PASSWORD.

flags (environment variable in brackets):
${Object.entries(FLAGS)
  .map(([flag, [env, help]]) => `  --${flag.padEnd(24)} ${help} [${env}]`)
  .join("\n")}
`;

function fail(message: string): never {
  process.stderr.write(`tollgate-worker: ${message}\n`);
  process.exit(1);
}

async function keygen(keystore: string | undefined): Promise<void> {
  if (!keystore) fail("keygen needs --keystore <file>");
  const password = process.env.TOLLGATE_KEYSTORE_PASSWORD;
  if (!password) fail("set the keystore password in TOLLGATE_KEYSTORE_PASSWORD");
  const { address } = await createKeystore(keystore, password);
  process.stdout.write(
    [
      `created ${keystore} (encrypted, mode 0600)`,
      `worker address: ${address}`,
      `next: authorize it from your provider account: tollgate-provider authorize-worker ${address} (or the dApp's Provider page),`,
      `      then run: TOLLGATE_KEYSTORE_PASSWORD=… tollgate-worker --keystore ${keystore} --upstream … --gateway …`,
      "",
    ].join("\n"),
  );
}

async function main(): Promise<void> {
  const options = Object.fromEntries(Object.keys(FLAGS).map((f) => [f, { type: "string" as const }]));
  const { values, positionals } = parseArgs({
    options: { ...options, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
  });
  const v = values as Partial<Record<Flag, string>> & { help?: boolean };
  const get = (flag: Flag): string | undefined => v[flag] ?? process.env[FLAGS[flag][0]] ?? undefined;

  if (v.help) return void process.stdout.write(HELP);
  const command = positionals[0] ?? "run";
  if (command === "keygen") return keygen(get("keystore"));
  if (command !== "run") fail(`unknown command "${command}" (try --help)`);

  const log = createLogger("tollgate-worker", get("log-level"));
  const privateKey = await loadPrivateKey(process.env, get("keystore"));
  const listen = get("listen") ?? "127.0.0.1:8090";
  const m = /^(.*):(\d+)$/.exec(listen);
  if (!m) fail("--listen must be host:port");
  const num = (flag: Flag) => {
    const s = get(flag);
    return s === undefined ? undefined : Number(s);
  };
  const modelsSpec = get("models");
  if (!modelsSpec) fail("--models is required (e.g. --models llama-3.1-8b-instruct)");

  const worker = await startWorker(
    {
      upstream: get("upstream") ?? "",
      runtime: get("runtime") as WorkerOptions["runtime"], // validated by zod in startWorker
      gateway: get("gateway") ?? "",
      gatewayAddress: get("gateway-address") ?? "",
      provider: get("provider") ?? "",
      chainId: num("chain-id") as number,
      registry: get("registry") ?? "",
      listenHost: m[1]!.replace(/^\[|\]$/g, ""),
      listenPort: Number(m[2]),
      publicUrl: get("public-url"),
      models: parseModelSpecs(modelsSpec),
      maxConcurrency: num("max-concurrency"),
      privateKey,
      firstTokenTimeoutMs: num("first-token-timeout-ms"),
      idleTimeoutMs: num("idle-timeout-ms"),
      requestTimeoutMs: num("request-timeout-ms"),
      drainTimeoutMs: num("drain-timeout-ms"),
    },
    {
      logger: log,
      onFatal: () => {
        // Revoked on-chain or otherwise refused: exiting lets a supervisor alert instead of idling.
        setTimeout(() => process.exit(1), 100);
      },
    },
  );

  let signals = 0;
  const onSignal = (sig: string) => {
    signals++;
    if (signals > 1) {
      log.warn({ signal: sig }, "second signal: exiting without waiting for in-flight requests");
      process.exit(1);
    }
    worker.drain().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err: (err as Error).message }, "drain failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("unhandledRejection", (err) => log.error({ err: String(err) }, "unhandled rejection (continuing)"));
  // Announce readiness only once the signal handlers are in place: a supervisor that reacts to
  // this line with SIGTERM must get a drain, not the default kill.
  process.stdout.write(`tollgate-worker ${worker.address} serving at ${worker.url} (registered as ${worker.workerId()}, endpoint ${worker.publicUrl}); SIGTERM or Ctrl-C drains and exits\n`);
}

main().catch((err: unknown) => {
  if (err instanceof z.ZodError) fail(err.issues.map((i) => `${i.path.join(".") || "options"}: ${i.message}`).join("; "));
  if (err instanceof KeyError) fail(err.message);
  if (err instanceof RegistrationRefusedError) fail(`the gateway refused this worker (HTTP ${err.status}): ${err.message}`);
  fail((err as Error).message ?? String(err));
});
