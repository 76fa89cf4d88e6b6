/**
 * startDevnet: the whole Tollgate network on one machine, every service a child process running its
 * real CLI. Order: chain → (contracts and demo state ∥ simulators) → gateway replicas ∥ indexer →
 * workers → the demo customer's API key (SIWE) → dApp → devnet.json.
 */
import { existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { privateKeyToAccount } from "viem/accounts";
import type { Deployment } from "@tollgate/protocol";
import { chainClients, deploymentLives, setUpChain } from "./chain-setup.ts";
import { createApiKey, keyWorks, signIn } from "./customer.ts";
import { ACCOUNT_INDEX, anvilKey, DEMO_PROVIDERS, GATEWAY_ID, workerKey } from "./demo.ts";
import { MANIFEST_WARNING, readManifest, writeManifest, type DevnetManifest } from "./manifest.ts";
import { devnetOptionsSchema, REPO_ROOT, wantedPorts, type DevnetOptions, type ResolvedOptions } from "./options.ts";
import { choosePort } from "./ports.ts";
import { Supervisor, type Child } from "./processes.ts";
import { seedPglite } from "./pglite-template.ts";
import { indexerSchema, wipeExternalStorage } from "./storage.ts";
import { checkNotRunning, releaseLock, takeLock } from "./lock.ts";

/** `phases`: seconds each start-up step took (for the benchmark and the progress lines). */
export type Devnet = { manifest: DevnetManifest; phases: Record<string, number>; stop(): Promise<void> };

const CHAIN_ID = 31337;
/** Where `npm run dev -w web` (Vite) serves the dApp by default. */
const VITE_DEV_ORIGIN = "http://127.0.0.1:5173";
const node = process.execPath; // the Node 24 running us runs the services' TypeScript too
/** A service's entry file, symlinks resolved (some CLIs compare argv[1] with their own module path). */
const script = (rel: string) => {
  const path = join(REPO_ROOT, rel);
  return existsSync(path) ? realpathSync(path) : path;
};

function anvilBinary(): string {
  const require = createRequire(join(REPO_ROOT, "contracts", "package.json"));
  return join(dirname(require.resolve("@foundry-rs/anvil-linux-amd64/package.json")), "bin", "anvil");
}

function account(index: number) {
  const privateKey = anvilKey(index);
  return { address: privateKeyToAccount(privateKey).address, privateKey };
}

class Progress {
  private readonly quiet: boolean;
  readonly t0 = performance.now();
  readonly phases: Record<string, number> = {};
  constructor(quiet: boolean) {
    this.quiet = quiet;
  }
  say(line: string): void {
    if (!this.quiet) process.stdout.write(`${line}\n`);
  }
  async step<T>(label: string, run: () => Promise<T>, detail?: (v: T) => string): Promise<T> {
    const t = performance.now();
    const v = await run();
    const extra = detail ? ` ${detail(v)}` : "";
    const sec = (performance.now() - t) / 1000;
    this.phases[label.replace(/ on :\d+$/, "")] = sec;
    this.say(`${label.padEnd(34, " ")} ok (${sec.toFixed(1)} s)${extra}`);
    return v;
  }
}

export async function startDevnet(input: DevnetOptions = {}): Promise<Devnet> {
  const o = devnetOptionsSchema.parse(input);
  if (o.replicas > 1 && (!o.databaseUrl || !o.redisUrl)) {
    throw new Error("more than one gateway replica needs shared storage: set DATABASE_URL (postgres://…) and REDIS_URL (redis://…)");
  }
  const p = new Progress(o.quiet);
  const dataDir = resolve(o.dataDir);
  const logsDir = join(dataDir, "logs");
  const previousPath = join(dataDir, "devnet.json");
  const manifestPath = o.manifestPath ? resolve(o.manifestPath) : undefined;
  // Before anything is wiped: another devnet may be running from here.
  checkNotRunning(dataDir, manifestPath);
  const previous = !o.fresh && existsSync(previousPath) ? safeRead(previousPath) : null;
  if (o.fresh) {
    rmSync(dataDir, { recursive: true, force: true });
    if (o.databaseUrl || o.redisUrl) await p.step("fresh PostgreSQL schema / Redis keys", () => wipeExternalStorage(o));
  }
  mkdirSync(logsDir, { recursive: true });
  takeLock(dataDir, manifestPath);
  p.say(`data ${dataDir}${o.fresh ? " (fresh)" : " (kept)"}; logs in ${logsDir}`);

  const supervisor = new Supervisor(logsDir);
  try {
    const manifest = await launch(o, p, supervisor, { dataDir, logsDir, previous });
    return {
      manifest,
      phases: p.phases,
      stop: async () => {
        await supervisor.stopAll();
        releaseLock(dataDir);
      },
    };
  } catch (err) {
    await supervisor.stopAll();
    releaseLock(dataDir);
    throw err;
  }
}

function safeRead(path: string): DevnetManifest | null {
  try {
    return readManifest(path);
  } catch {
    return null;
  }
}

async function launch(
  o: ResolvedOptions,
  p: Progress,
  sup: Supervisor,
  dirs: { dataDir: string; logsDir: string; previous: DevnetManifest | null },
): Promise<DevnetManifest> {
  const { dataDir, logsDir, previous } = dirs;
  const withIndexer = o.indexer && existsSync(script("indexer/src/cli.ts"));
  const webReason = !existsSync(script("web/scripts/serve.ts"))
    ? "no web/ workspace in this checkout"
    : !existsSync(script("web/dist/index.html"))
      ? "the dApp is not built (npm run build:web)"
      : !withIndexer
        ? "the dApp needs the indexer's GraphQL"
        : null;
  const withWeb = o.web && webReason === null;
  if (o.indexer && !withIndexer) p.say("indexer                            skipped: no indexer/ workspace in this checkout");
  if (o.web && !withWeb) p.say(`dApp                               skipped: ${webReason}`);

  // Ports: the wanted ones when free, else any free one, said out loud.
  const want = wantedPorts(o.portBase);
  const taken = new Set<number>();
  const moved: { what: string; wanted: number; port: number }[] = [];
  const pick = async (what: string, wanted: number) => {
    const c = await choosePort(wanted, taken);
    if (c.moved) moved.push({ what, wanted: c.wanted, port: c.port });
    return c.port;
  };
  const chainPort = await pick("chain", want.chain);
  const gatewayPorts: number[] = [];
  for (let i = 0; i < o.replicas; i++) gatewayPorts.push(await pick(`gateway ${i + 1}`, want.gateway ? want.gateway + i : 0));
  const indexerPort = withIndexer ? await pick("indexer", want.indexer) : 0;
  const webPort = withWeb ? await pick("dApp", want.web) : 0;
  const servicePorts: number[] = [];
  for (let i = 0; i < DEMO_PROVIDERS.length * 2; i++) servicePorts.push(await pick(i % 2 ? `worker ${(i >> 1) + 1}` : `simulator ${(i >> 1) + 1}`, want.services ? want.services + i : 0));

  // One line per moved port; when most are taken (another devnet runs on them), one line for all.
  if (moved.length > 3) p.say(`ports ${moved.map((m) => m.wanted).join(", ")} are busy (another devnet?): this one uses free ports instead; see its URLs below`);
  else for (const m of moved) p.say(`port ${m.wanted} is busy: ${m.what} uses ${m.port} instead`);

  const webUrl = withWeb ? `http://127.0.0.1:${webPort}` : null;
  // Customers sign in from the dApp, so SIWE messages name the dApp's host; without it, the gateway's.
  const siweDomain = webUrl ? `127.0.0.1:${webPort}` : `127.0.0.1:${gatewayPorts[0]}`;
  // The origin the gateway lets browsers call from: the devnet's dApp, or without it a dApp dev
  // server on Vite's default port (npm run dev -w web, docs/web.md), which 5173 is then free for.
  const dappOrigin = webUrl ?? VITE_DEV_ORIGIN;

  // 1. The chain. Kept devnets persist its state in the data directory.
  const statePath = join(dataDir, "chain-state.json");
  const anvil = await p.step(`chain (anvil) on :${chainPort}`, () =>
    sup.start({
      name: "chain",
      command: anvilBinary(),
      args: ["--host", "127.0.0.1", "--port", String(chainPort), "--chain-id", String(CHAIN_ID), ...(o.fresh ? [] : ["--state", statePath, "--state-interval", "5"])],
      ready: /Listening on (127\.0\.0\.1:\d+)/,
      timeoutMs: 20_000,
      stopSignal: "SIGINT",
      tier: 0,
    }),
  );
  const rpcUrl = `http://${anvil.match[1]}`;
  const clients = chainClients(rpcUrl, CHAIN_ID);

  // 2. Contracts and demo accounts, while the simulated GPUs boot.
  const simulators = DEMO_PROVIDERS.map((prov, i) =>
    sup.start({
      name: `simulator-${i + 1}`,
      command: node,
      args: [
        script("worker/src/simulator/cli.ts"),
        "--port", String(servicePorts[2 * i]),
        "--models", prov.models.map((m) => `${m.name}:${m.contextLength}`).join(","),
        "--ttft-ms", String(prov.behaviour.ttftMs),
        "--ttft-sigma", String(prov.behaviour.ttftSigma),
        "--tps", String(prov.behaviour.tokensPerSecond),
        "--error-rate", String(prov.behaviour.errorRate),
        "--fault-seed", String(i + 1),
        "--min-tokens", "12",
        "--max-tokens", "120",
      ],
      ready: /listening on (http:\/\/\S+)/,
      tier: 2,
    }),
  );
  // The gateway's embedded database, seeded from a cached template meanwhile (see pglite-template.ts).
  // Seeding runs PGlite in this process, so the two go one after the other.
  const gatewayDb = o.databaseUrl ? Promise.resolve("postgres" as const) : seedPglite("gateway", join(dataDir, "gateway"));
  const indexerDb = o.databaseUrl || !withIndexer ? Promise.resolve("postgres" as const) : gatewayDb.then(() => seedPglite("indexer", join(dataDir, "indexer")));
  gatewayDb.catch(() => {}); // both awaited before their service starts
  indexerDb.catch(() => {});
  let deployment: Deployment;
  const reuse = previous && (await deploymentLives(clients.publicClient, previous.deployment)) ? previous.deployment : null;
  if (reuse) {
    deployment = reuse;
    p.say(`contracts                          kept from ${join(dataDir, "devnet.json")}`);
  } else {
    deployment = await p.step("contracts, providers, customer", () =>
      setUpChain(clients, { disputeWindowSeconds: o.disputeWindowSec }),
    );
  }
  const deploymentPath = join(dataDir, "deployment.json");
  writeFileSync(deploymentPath, `${JSON.stringify(deployment, null, 2)}\n`);
  const sims = await p.step(`${DEMO_PROVIDERS.length} simulated GPUs`, () => Promise.all(simulators));

  // 3. Gateway replicas (and the indexer, which needs only the chain until receipts are posted).
  const c = deployment.contracts;
  const gatewaySigner = account(ACCOUNT_INDEX.gatewaySigner);
  const gatewayEnv = (i: number): Record<string, string | undefined> => ({
    HOST: "127.0.0.1",
    PORT: String(gatewayPorts[i]),
    TOLLGATE_PUBLIC_DOMAIN: siweDomain,
    TOLLGATE_DATA_DIR: join(dataDir, "gateway"),
    DATABASE_URL: o.databaseUrl,
    TOLLGATE_DB_SCHEMA: o.databaseUrl ? o.dbSchema : undefined,
    REDIS_URL: o.redisUrl,
    TOLLGATE_REDIS_PREFIX: o.redisPrefix,
    TOLLGATE_RPC_URL: rpcUrl,
    TOLLGATE_CHAIN_ID: String(CHAIN_ID),
    TOLLGATE_GATEWAY_ID: String(GATEWAY_ID),
    TOLLGATE_SIGNER_KEY: gatewaySigner.privateKey,
    TOLLGATE_SETTLEMENT: c.settlement,
    TOLLGATE_REGISTRY: c.providerRegistry,
    TOLLGATE_STAKING: c.providerStaking,
    TOLLGATE_SLA_CREDITS: c.slaCredits,
    TOLLGATE_START_BLOCK: String(deployment.deployBlock),
    TOLLGATE_DEVNET: "true",
    TOLLGATE_KEY_ENV: "test",
    TOLLGATE_EPOCH_MS: String(o.epochMs),
    TOLLGATE_CHAIN_POLL_MS: "500",
    TOLLGATE_HEARTBEAT_MS: "2000",
    TOLLGATE_PROBE_INTERVAL_MS: String(o.probeIntervalMs),
    TOLLGATE_SLA_WINDOW_SEC: String(o.slaWindowSec),
    TOLLGATE_FIRST_TOKEN_TIMEOUT_MS: "10000",
    // The dApp's origin, whichever name the browser uses for this machine.
    TOLLGATE_CORS_ORIGINS: `${dappOrigin},${dappOrigin.replace("127.0.0.1", "localhost")}`,
    LOG_LEVEL: "info",
  });
  const startGateway = (i: number) =>
    sup.start({
      name: o.replicas > 1 ? `gateway-${i + 1}` : "gateway",
      command: node,
      args: [script("gateway/src/cli.ts")],
      env: gatewayEnv(i),
      ready: /tollgate-gateway listening on (http:\/\/\S+)/,
      tier: 1,
    });
  const startIndexer = (): Promise<Child | null> =>
    withIndexer
      ? sup.start({
          name: "indexer",
          command: node,
          args: [script("indexer/src/cli.ts")],
          env: {
            HOST: "127.0.0.1",
            PORT: String(indexerPort),
            INDEXER_RPC_URL: rpcUrl,
            INDEXER_DEPLOYMENT: deploymentPath,
            INDEXER_GATEWAYS: `${GATEWAY_ID}=http://127.0.0.1:${gatewayPorts[0]}`,
            INDEXER_DATA_DIR: join(dataDir, "indexer"),
            DATABASE_URL: o.databaseUrl,
            INDEXER_DB_SCHEMA: o.databaseUrl ? indexerSchema(o.dbSchema) : undefined,
            LOG_LEVEL: "info",
          },
          ready: /tollgate-indexer listening on (http:\/\/\S+\/graphql)/,
          timeoutMs: 90_000,
          tier: 1,
        })
      : Promise.resolve(null);
  await p.step("gateway database", () => gatewayDb, (how) => `(${how === "seeded" ? "PGlite, from the template" : how === "kept" ? "PGlite, kept" : "PostgreSQL"})`);
  // The first replica creates the schema; the others start together once it is up. The indexer
  // boots alongside (it needs only the chain until batches are posted).
  const firstStarting = startGateway(0);
  firstStarting.catch(() => {}); // awaited just below
  const indexerStarting = indexerDb.then(startIndexer);
  indexerStarting.catch(() => {}); // awaited after the workers; a gateway failure first must not leave it unhandled
  const first = await p.step(`gateway on :${gatewayPorts[0]}`, () => firstStarting);
  const rest = await Promise.all(gatewayPorts.slice(1).map((_, i) => startGateway(i + 1)));
  const gatewayUrls = [first, ...rest].map((g) => g.match[1]!.replace(/\/$/, ""));
  if (rest.length) p.say(`gateway replicas                   ${gatewayUrls.slice(1).join(", ")}`);
  const gatewayUrl = gatewayUrls[0]!;

  // 4. One worker per demo provider, each in front of its simulator, registered with a replica.
  const gatewayAddress = gatewaySigner.address;
  const workers = await p.step(`${DEMO_PROVIDERS.length} workers registered`, () =>
    Promise.all(
      DEMO_PROVIDERS.map((prov, i) =>
        sup.start({
          name: `worker-${i + 1}`,
          command: node,
          args: [
            script("worker/src/cli/worker.ts"),
            "--upstream", sims[i]!.match[1]!,
            "--runtime", "openai",
            "--gateway", gatewayUrls[i % gatewayUrls.length]!,
            "--gateway-address", gatewayAddress,
            "--provider", account(ACCOUNT_INDEX.providers[i]!).address,
            "--chain-id", String(CHAIN_ID),
            "--registry", c.providerRegistry,
            "--listen", `127.0.0.1:${servicePorts[2 * i + 1]}`,
            "--models", prov.models.map((m) => m.name).join(","),
            "--max-concurrency", "64",
            "--first-token-timeout-ms", "10000",
            "--drain-timeout-ms", "3000",
          ],
          env: { TOLLGATE_WORKER_KEY: workerKey(i), LOG_LEVEL: "info" },
          ready: /tollgate-worker (0x[0-9a-fA-F]{40}) serving at (http:\/\/\S+) \(registered as .*?, endpoint (\S+)\)/,
          tier: 3,
        }),
      ),
    ),
  );

  // 5. The demo customer's key, through SIWE and POST /v1/keys (a kept devnet keeps its key).
  const customer = account(ACCOUNT_INDEX.customer);
  const apiKey = await p.step("demo API key (SIWE login)", async () => {
    if (previous?.apiKey && (await keyWorks(gatewayUrl, previous.apiKey))) return previous.apiKey;
    const session = await signIn(gatewayUrl, privateKeyToAccount(customer.privateKey), { domain: siweDomain, chainId: CHAIN_ID });
    return (await createApiKey(gatewayUrl, session, "devnet demo")).key;
  });

  const indexer = await (withIndexer ? p.step(`indexer on :${indexerPort}`, () => indexerStarting) : indexerStarting);
  const graphqlUrl = indexer?.match[1] ?? null;

  // 6. The dApp, with its runtime configuration.
  // Written with --no-web too: copied to web/public/, it points a dApp dev server at this devnet.
  const configPath = join(dataDir, "tollgate.config.json");
  if (graphqlUrl) {
    writeFileSync(
      configPath,
      `${JSON.stringify({ chainId: CHAIN_ID, rpcUrl, chainName: "Tollgate devnet", contracts: c, gatewayUrl, graphqlUrl, explorerUrl: null }, null, 2)}\n`,
    );
  }
  if (withWeb && graphqlUrl) {
    await p.step(`dApp on :${webPort}`, () =>
      sup.start({
        name: "web",
        command: node,
        args: [script("web/scripts/serve.ts"), "--port", String(webPort), "--config", configPath],
        env: { HOST: "127.0.0.1" },
        ready: /tollgate-web listening on (http:\/\/\S+)/,
        timeoutMs: 90_000,
        tier: 4,
      }),
    );
  }

  const manifest: DevnetManifest = {
    warning: MANIFEST_WARNING,
    chainId: CHAIN_ID,
    rpcUrl,
    deployment,
    gatewayId: GATEWAY_ID,
    gatewayUrl,
    gatewayUrls,
    siweDomain,
    graphqlUrl,
    webUrl,
    apiKey,
    accounts: {
      deployer: account(ACCOUNT_INDEX.deployer),
      customer,
      providers: ACCOUNT_INDEX.providers.map(account),
      gatewaySigner,
      arbiter: account(ACCOUNT_INDEX.deployer),
    },
    providers: DEMO_PROVIDERS.map((prov, i) => ({
      address: account(ACCOUNT_INDEX.providers[i]!).address,
      name: prov.name,
      models: prov.models.map((m) => m.name),
      prices: prov.models.map((m) => ({ model: m.name, promptPrice: m.promptPrice.toString(), completionPrice: m.completionPrice.toString() })),
      workerUrls: [workers[i]!.match[3]!],
      worker: workers[i]!.match[1]! as `0x${string}`,
      behaviour: prov.behaviour,
    })),
    timings: { epochMs: o.epochMs, slaWindowSec: o.slaWindowSec, disputeWindowSec: reuse ? (previous?.timings.disputeWindowSec ?? o.disputeWindowSec) : o.disputeWindowSec, probeIntervalMs: o.probeIntervalMs },
    dataDir,
    logsDir,
    readyMs: Math.round(performance.now() - p.t0),
  };
  writeManifest(join(dataDir, "devnet.json"), manifest);
  if (o.manifestPath) writeManifest(o.manifestPath, manifest);
  return manifest;
}
