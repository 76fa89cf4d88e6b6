/**
 * What the browser tests run against: anvil with the real contracts (dispute window 60 s so a test
 * can see earnings vest), the real gateway (PGlite in memory, 1 s batch epochs), the dApp served by
 * the indexer (PGlite in a temporary directory), the dApp served by serveWeb(), and helpers to fund
 * accounts and start a provider's worker (real worker agent in front of the simulated GPU runtime),
 * send any account's transactions, and submit SLA reports signed by a second gateway (no process).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicClient, createWalletClient, http, type Abi, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { pino } from "pino";
import { settlementAbi, slaCreditsAbi, testUsdcAbi } from "@tollgate/protocol";
import { domainOf, slaReportTypes } from "@tollgate/protocol/eip712";
import { ANVIL_KEYS, deployProtocol, localChain, sendTx, startAnvil, type Anvil } from "@tollgate/protocol/devnet";
import { buildGateway, type Gateway } from "@tollgate/gateway";
import { startIndexer, type Indexer } from "@tollgate/indexer";
import { parseModelSpecs, startWorker, type WorkerHandle } from "@tollgate/worker";
import { startSimulator, type SimulatorHandle } from "@tollgate/worker/simulator";
import { serveWeb, type WebServer } from "../../scripts/serve.ts";
import type { AppConfig } from "../../src/config.ts";

export { ANVIL_KEYS };
export const MODEL = "sim-llama-3.1-8b-instruct";
export const GATEWAY_ID = 1;
/**
 * A second gateway, registered on-chain but not running: its SLA reports' arrears are left to the
 * pages. The running gateway's arrears keeper collects its own reports' arrears as soon as the
 * provider stakes, so a report of its own would race the page's "Collect now".
 */
export const KEEPERLESS_GATEWAY_ID = 2;
export const DISPUTE_WINDOW = 60;

export type Stack = {
  anvil: Anvil;
  publicClient: PublicClient;
  config: AppConfig;
  gatewayUrl: string;
  webUrl: string;
  indexer: Indexer;
  mint(to: Address, amount: bigint): Promise<void>;
  escrowOf(customer: Address): Promise<bigint>;
  startProviderWorker(provider: Address, workerKey: Hex): Promise<void>;
  /** A transaction from the account of `privateKey`, mined (throws when it reverts). */
  sendAs(privateKey: Hex, address: Address, abi: Abi, functionName: string, args: unknown[]): Promise<void>;
  /**
   * An SLA report signed by the keeperless gateway on `provider` for the hour that ended an hour
   * ago (chain time): 5,000 requests at 99.0 % availability, which the default policy credits at
   * its cap, 25 % of each customer's spend. Returns the report's key.
   */
  submitSlaReport(provider: Address, spends: [Address, bigint][]): Promise<Hex>;
  timeTravel(seconds: number): Promise<void>;
  stop(): Promise<void>;
};

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => ok(port));
    });
  });
}

/** Does the gateway answer a CORS preflight from the dApp's origin? */
async function corsAllowed(gatewayUrl: string, origin: string): Promise<boolean> {
  const res = await fetch(`${gatewayUrl}/v1/auth/nonce`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" } }).catch(() => null);
  return !!res?.headers.get("access-control-allow-origin");
}

export async function startStack(): Promise<Stack> {
  const silent = pino({ level: "silent" });
  const anvil = await startAnvil();
  const chain = localChain(anvil.url, anvil.chainId);
  const publicClient = createPublicClient({ chain, transport: http(anvil.url), pollingInterval: 100 }) as PublicClient;
  const deployer = createWalletClient({ chain, transport: http(anvil.url), account: privateKeyToAccount(ANVIL_KEYS[0]!) });
  const d = await deployProtocol(deployer, publicClient, { disputeWindowSeconds: DISPUTE_WINDOW });
  const c = d.contracts;
  const write = (address: Address, abi: Abi, functionName: string, args: unknown[]) => sendTx(publicClient, deployer, address, abi, functionName, args).then(() => {});
  const signerKey = ANVIL_KEYS[1]!;
  await write(c.settlement, settlementAbi as Abi, "setGatewaySigner", [GATEWAY_ID, privateKeyToAccount(signerKey).address]);
  const keeperlessKey = ANVIL_KEYS[4]!;
  await write(c.settlement, settlementAbi as Abi, "setGatewaySigner", [KEEPERLESS_GATEWAY_ID, privateKeyToAccount(keeperlessKey).address]);

  const webPort = await freePort();
  const webOrigin = `http://127.0.0.1:${webPort}`;
  const gw: Gateway = await buildGateway({
    host: "127.0.0.1",
    port: 0,
    publicDomain: "gateway.test",
    dataDir: "memory://",
    rpcUrl: anvil.url,
    chainId: anvil.chainId,
    gatewayId: GATEWAY_ID,
    signerKey,
    settlement: c.settlement,
    registry: c.providerRegistry,
    staking: c.providerStaking,
    slaCredits: c.slaCredits,
    startBlock: d.deployBlock,
    devnet: true,
    epochMs: 1_000,
    chainPollMs: 200,
    // Generous on a loaded 2-core machine: a worker counts as alive for 3 intervals.
    heartbeatIntervalMs: 2_000,
    probeIntervalMs: 0,
    logger: silent,
    corsOrigins: [webOrigin],
  });
  const gatewayUrl = await gw.listen();
  if (!(await corsAllowed(gatewayUrl, webOrigin))) throw new Error(`the gateway refuses CORS from the dApp's origin ${webOrigin}`);

  const indexerDir = mkdtempSync(join(tmpdir(), "tollgate-web-indexer-"));
  const indexer = await startIndexer({ rpcUrl: anvil.url, deployment: d, gateways: { [String(GATEWAY_ID)]: gatewayUrl }, port: 0, pollMs: 200, dataDir: indexerDir, logger: silent });
  const config: AppConfig = {
    chainId: anvil.chainId,
    rpcUrl: anvil.url,
    chainName: "Tollgate devnet",
    contracts: c,
    gatewayUrl,
    graphqlUrl: indexer.url,
    explorerUrl: null,
  };
  const web: WebServer = await serveWeb({ config, port: webPort });

  const rigs: { sim: SimulatorHandle; worker: WorkerHandle }[] = [];
  return {
    anvil,
    publicClient,
    config,
    gatewayUrl,
    webUrl: web.url,
    indexer,
    mint: (to, amount) => write(c.usdc, testUsdcAbi as Abi, "mint", [to, amount]),
    escrowOf: async (customer) => ((await publicClient.readContract({ address: c.settlement, abi: settlementAbi, functionName: "accountOf", args: [customer] })) as readonly [bigint, bigint, number])[0],
    async startProviderWorker(provider, workerKey) {
      const sim = await startSimulator({ port: 0, ttftMs: 20, ttftSigma: 0, tokensPerSecond: 2000, minCompletionTokens: 8, maxCompletionTokens: 24, models: [{ name: MODEL, contextLength: 8192 }] });
      const worker = await startWorker(
        {
          upstream: sim.url, runtime: "openai", gateway: gatewayUrl, gatewayAddress: privateKeyToAccount(signerKey).address, provider,
          chainId: anvil.chainId, registry: c.providerRegistry, listenPort: 0, models: parseModelSpecs(MODEL), maxConcurrency: 16,
          privateKey: workerKey, gpuStats: false, firstTokenTimeoutMs: 5_000, idleTimeoutMs: 5_000, requestTimeoutMs: 20_000, drainTimeoutMs: 2_000,
        },
        { logger: silent },
      );
      rigs.push({ sim, worker });
    },
    sendAs: (privateKey, address, abi, functionName, args) =>
      sendTx(publicClient, createWalletClient({ chain, transport: http(anvil.url), account: privateKeyToAccount(privateKey) }), address, abi, functionName, args).then(() => {}),
    async submitSlaReport(provider, spends) {
      const now = (await publicClient.getBlock()).timestamp;
      const report = {
        gatewayId: KEEPERLESS_GATEWAY_ID, provider, tier: 0, windowStart: now - 7_200n, windowEnd: now - 3_600n, requests: 5_000, availabilityPpm: 990_000, p95TtftMs: 200,
        deadline: now + 3_600n, spends: spends.map(([customer, spend]) => ({ customer, spend })),
      };
      const signature = await privateKeyToAccount(keeperlessKey).signTypedData({ domain: domainOf("sla", anvil.chainId, c.slaCredits), types: slaReportTypes, primaryType: "SlaReport", message: report });
      await write(c.slaCredits, slaCreditsAbi as Abi, "submitReport", [report, signature]);
      return publicClient.readContract({ address: c.slaCredits, abi: slaCreditsAbi, functionName: "reportKey", args: [KEEPERLESS_GATEWAY_ID, provider, 0, report.windowStart] });
    },
    async timeTravel(seconds) {
      await publicClient.request({ method: "evm_increaseTime" as never, params: [seconds] as never });
      await publicClient.request({ method: "evm_mine" as never, params: [] as never });
    },
    async stop() {
      for (const r of rigs) {
        await r.worker.close().catch(() => {});
        await r.sim.close().catch(() => {});
      }
      await web.close();
      await indexer.stop();
      rmSync(indexerDir, { recursive: true, force: true });
      await gw.close();
      await anvil.stop();
    },
  };
}
