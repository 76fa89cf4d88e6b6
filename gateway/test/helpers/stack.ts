/**
 * A whole Tollgate on one machine for tests: anvil with the real contracts, staked providers each
 * running the REAL worker agent in front of the simulated GPU runtime, a funded customer, and the
 * gateway (PGlite in a temporary directory unless told otherwise). Everything on 127.0.0.1, port 0.
 */
import { cpSync, existsSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { openPglite } from "../../src/store/db.ts";
import { SCHEMA } from "../../src/store/schema.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Address, Hex } from "viem";
import { createSiweMessage } from "viem/siwe";
import { startWorker, parseModelSpecs, type WorkerHandle, type WorkerOptions } from "@tollgate/worker";
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from "@tollgate/worker/simulator";
import { buildGateway, type Gateway, type GatewayOptions } from "../../src/server.ts";
import { createLogger } from "../../src/shared/log.ts";
import { ANVIL_KEYS, deployProtocol, fundCustomer, setGatewaySigner, setupProvider, startChain, type Chain, type Contracts } from "./chain.ts";

export const MODEL = "sim-llama-3.1-8b-instruct";
export const PROMPT_PRICE = 200_000n; // $0.20 per million prompt tokens
export const COMPLETION_PRICE = 600_000n; // $0.60 per million completion tokens
export const GATEWAY_ID = 1;
const silent = () => createLogger("silent");

export type WorkerRig = { sim: SimulatorHandle; worker: WorkerHandle; key: Hex; provider: Address };

export type Env = {
  chain: Chain;
  contracts: Contracts;
  deployer: ReturnType<Chain["wallet"]>;
  gatewaySignerKey: Hex;
  providers: { wallet: ReturnType<Chain["wallet"]>; workerKeys: Hex[] }[];
  customer: ReturnType<Chain["wallet"]>;
  stop(): Promise<void>;
};

/** Chain + contracts + `providerCount` staked providers (1,000 USDC each unless `stake`; authorized worker keys) + a funded customer. */
export async function startEnv(opts: { providers?: number; deposit?: bigint; prices?: { promptPrice: bigint; completionPrice: bigint }[]; stake?: bigint } = {}): Promise<Env> {
  const chain = await startChain();
  const deployer = chain.wallet(ANVIL_KEYS[0]!);
  const contracts = await deployProtocol(deployer, chain.publicClient);
  const gatewaySignerKey = ANVIL_KEYS[1]!;
  await setGatewaySigner(contracts, deployer, chain.publicClient, GATEWAY_ID, privateKeyToAccount(gatewaySignerKey).address);
  const providers: Env["providers"] = [];
  for (let i = 0; i < (opts.providers ?? 2); i++) {
    const wallet = chain.wallet(ANVIL_KEYS[2 + i]!);
    const workerKeys = [generatePrivateKey(), generatePrivateKey()];
    const price = opts.prices?.[i] ?? { promptPrice: PROMPT_PRICE, completionPrice: COMPLETION_PRICE };
    await setupProvider(contracts, deployer, wallet, chain.publicClient, {
      models: [{ name: MODEL, ...price }],
      workers: workerKeys.map((k) => privateKeyToAccount(k).address),
      ...(opts.stake !== undefined && { stake: opts.stake }),
    });
    providers.push({ wallet, workerKeys });
  }
  const customer = chain.wallet(ANVIL_KEYS[8]!);
  if ((opts.deposit ?? 0n) > 0n) await fundCustomer(contracts, deployer, customer, chain.publicClient, opts.deposit!);
  return { chain, contracts, deployer, gatewaySignerKey, providers, customer, stop: () => chain.stop() };
}

/**
 * A fresh PGlite data directory. Initialising PGlite (WASM + initdb) takes seconds on two cores, so
 * the first test builds a migrated template once per machine and every gateway gets a copy of it.
 */
export async function freshDataDir(): Promise<string> {
  const version = createHash("sha256").update(SCHEMA.join(";")).digest("hex").slice(0, 12);
  const template = join(tmpdir(), `tollgate-gw-pglite-template-${version}`);
  if (!existsSync(template)) {
    const building = mkdtempSync(join(tmpdir(), "tollgate-gw-tpl-"));
    const db = await openPglite(building);
    await db.close();
    try {
      renameSync(building, template);
    } catch {
      rmSync(building, { recursive: true, force: true }); // another test file won the race
    }
  }
  const dir = mkdtempSync(join(tmpdir(), "tollgate-gw-"));
  cpSync(template, dir, { recursive: true });
  return dir;
}

export function gatewayOptions(env: Env, over: Partial<GatewayOptions> = {}): GatewayOptions {
  return {
    host: "127.0.0.1",
    port: 0,
    publicDomain: "gateway.test",
    // Every test signs in from 127.0.0.1; the per-address limit has a test of its own.
    authRequestsPerMinute: 0,
    dataDir: over.dataDir ?? "memory://",
    rpcUrl: env.chain.url,
    chainId: env.chain.chainId,
    gatewayId: GATEWAY_ID,
    signerKey: env.gatewaySignerKey,
    settlement: env.contracts.settlement,
    registry: env.contracts.registry,
    staking: env.contracts.staking,
    slaCredits: env.contracts.slaCredits,
    startBlock: env.contracts.deployBlock,
    devnet: true,
    epochMs: 3_600_000,
    chainPollMs: 100,
    heartbeatIntervalMs: 1_000, // a worker counts as alive for 3 intervals + 0.5 s: 200 ms flapped under CI load
    probeIntervalMs: 0,
    logger: silent(),
    ...over,
  };
}

export async function startGateway(env: Env, over: Partial<GatewayOptions> = {}): Promise<{ gw: Gateway; url: string }> {
  const ownDir = over.dataDir || over.databaseUrl ? null : await freshDataDir();
  const gw = await buildGateway(gatewayOptions(env, { ...(ownDir && { dataDir: ownDir }), ...over }));
  if (ownDir) {
    const close = gw.close.bind(gw);
    gw.close = async () => {
      await close();
      removeDir(ownDir);
    };
  }
  // A gateway that cannot listen still holds its database: close it, or the next gateway on the same
  // data directory aborts inside PGlite and the test file never exits.
  const url = await gw.listen().catch(async (err: Error) => {
    await gw.close().catch(() => {});
    throw err;
  });
  return { gw, url };
}

/** A simulator and the real worker agent in front of it, registered with the gateway. */
/** A worker agent's options for provider `providerIndex`'s worker key `workerIndex`, in front of `upstream`. */
export function workerOptions(env: Env, gatewayUrl: string, upstream: string, providerIndex = 0, workerIndex = 0, over: Partial<WorkerOptions> = {}): WorkerOptions {
  return {
    upstream,
    runtime: "openai",
    gateway: gatewayUrl,
    gatewayAddress: privateKeyToAccount(env.gatewaySignerKey).address,
    provider: env.providers[providerIndex]!.wallet.account.address,
    chainId: env.chain.chainId,
    registry: env.contracts.registry,
    listenPort: 0,
    models: parseModelSpecs(MODEL),
    maxConcurrency: 256,
    privateKey: env.providers[providerIndex]!.workerKeys[workerIndex]!,
    gpuStats: false,
    firstTokenTimeoutMs: 5_000,
    idleTimeoutMs: 5_000,
    requestTimeoutMs: 20_000,
    drainTimeoutMs: 5_000,
    ...over,
  };
}

export async function startRig(env: Env, gatewayUrl: string, providerIndex: number, workerIndex = 0, sim: SimulatorOptions = {}, maxConcurrency = 256): Promise<WorkerRig> {
  const simulator = await startSimulator({ port: 0, ttftMs: 20, ttftSigma: 0, tokensPerSecond: 2000, minCompletionTokens: 8, maxCompletionTokens: 24, ...sim, models: [{ name: MODEL, contextLength: 8192 }] });
  const options = workerOptions(env, gatewayUrl, simulator.url, providerIndex, workerIndex, { maxConcurrency });
  const worker = await startWorker(options, { logger: silent() });
  return { sim: simulator, worker, key: env.providers[providerIndex]!.workerKeys[workerIndex]!, provider: env.providers[providerIndex]!.wallet.account.address };
}

export async function stopRig(r: WorkerRig): Promise<void> {
  await r.worker.close().catch(() => {});
  await r.sim.close().catch(() => {});
}

/**
 * Provider 0's worker following a gateway across restarts: `serveWith(url)` stops the previous worker
 * and registers a new one with the incarnation at `url` (a new port each time), resolving once that
 * gateway accepted it. issuedAt has one-second resolution and a registration must be newer than
 * the last accepted, so a new worker waits for the next second.
 */
export function followingRig(env: Env) {
  let rig: WorkerRig | null = null;
  let registeredAt = 0;
  const stop = async () => {
    if (rig) await stopRig(rig);
    rig = null;
  };
  return {
    async serveWith(url: string): Promise<void> {
      await stop();
      const nextSecond = (Math.floor(registeredAt / 1000) + 1) * 1000;
      if (Date.now() < nextSecond) await new Promise((r) => setTimeout(r, nextSecond - Date.now()));
      rig = await startRig(env, url, 0);
      registeredAt = Date.now();
    },
    stop,
  };
}

/** Sign in with Ethereum as `wallet`, create an API key; returns the key and the session. */
export async function loginAndCreateKey(url: string, wallet: ReturnType<Chain["wallet"]>, chainId: number, body: Record<string, unknown> = { name: "test" }): Promise<{ key: string; session: string; id: string }> {
  const { nonce } = (await (await fetch(`${url}/v1/auth/nonce`)).json()) as { nonce: string };
  const message = createSiweMessage({
    domain: "gateway.test",
    address: wallet.account.address,
    statement: "Sign in to Tollgate",
    uri: "https://gateway.test",
    version: "1",
    chainId,
    nonce,
    expirationTime: new Date(Date.now() + 600_000),
  });
  const signature = await wallet.account.signMessage({ message });
  const login = await fetch(`${url}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ message, signature }) });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${await login.text()}`);
  const { session } = (await login.json()) as { session: string };
  const res = await fetch(`${url}/v1/keys`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${session}` }, body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`key creation failed: ${res.status} ${await res.text()}`);
  const created = (await res.json()) as { key: string; id: string };
  return { key: created.key, session, id: created.id };
}

export async function waitFor<T>(pick: () => T | Promise<T>, timeoutMs = 10_000, what = "condition"): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await pick();
    if (v !== undefined && v !== null && v !== false) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "tollgate-gw-"));
}
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
