/**
 * buildGateway(options): the fastify app with every part wired, plus the background loops (chain
 * follower, batch poster, probes, SLA reporter, registry sync). Used by the CLI and by tests.
 */
import { createHmac } from "node:crypto";
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from "fastify";
import { createPublicClient, createWalletClient, defineChain, http, type PublicClient, type WalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Logger } from "pino";
import { parseConfig, type GatewayConfig, type GatewayConfigInput } from "./config.ts";
import { openPglite, openPostgres, big, type Db } from "./store/db.ts";
import { KeyStore } from "./auth/keys.ts";
import { Siwe } from "./auth/siwe.ts";
import { MemoryLedger, RedisLedger, type Ledger, type LedgerInit } from "./admission/ledger.ts";
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from "./admission/limits.ts";
import { DEFAULT_TIERS, type Tier, type Tiers } from "./admission/tiers.ts";
import { MemoryDailySpend, RedisDailySpend, type DailySpend } from "./admission/daily-spend.ts";
import { LeaseKeeper } from "./admission/leases.ts";
import { WorkerRegistry } from "./routing/registry.ts";
import { ProviderReads } from "./routing/chain-reads.ts";
import { createWorkerDispatcher } from "./routing/ssrf.ts";
import { Prober } from "./routing/probes.ts";
import { ProviderEvents } from "./routing/provider-events.ts";
import { ReceiptWriter } from "./metering/receipts.ts";
import { TokenCounter } from "./metering/token-counter.ts";
import { oneAtATime } from "./shared/one-at-a-time.ts";
import { createMetrics } from "./http/metrics.ts";
import { Sli } from "./settlement/sli.ts";
import { ChainFollower } from "./settlement/follower.ts";
import { BatchPoster, type PosterStage } from "./settlement/poster.ts";
import { SlaReporter } from "./settlement/sla-reporter.ts";
import { ArrearsCollector } from "./settlement/arrears-collector.ts";
import { createLogger } from "./shared/log.ts";
import { ApiError } from "./shared/errors.ts";
import type { Ctx } from "./context.ts";
import { openaiRoutes } from "./http/openai.ts";
import { accountRoutes } from "./http/accounts.ts";
import { workerRoutes } from "./http/workers.ts";
import { receiptRoutes } from "./http/receipts.ts";
import { statusRoutes } from "./http/status.ts";
import { registerCors } from "./http/cors.ts";
import { RefreshCache } from "./shared/refresh-cache.ts";

export type GatewayOptions = GatewayConfigInput & {
  logger?: Logger;
  tiers?: Partial<Tiers>;
  /** Test hook: called at each step of posting a batch (e.g. to simulate a crash there). */
  onBatchStage?: (stage: PosterStage, batchId: bigint) => Promise<void>;
  /** Do not start background loops (tests drive them by hand). */
  manualLoops?: boolean;
};

export type Gateway = {
  app: FastifyInstance;
  ctx: Ctx;
  follower: ChainFollower;
  poster: BatchPoster;
  prober: Prober;
  sla: SlaReporter;
  /** Listen on config.host:port; resolves to the base URL. */
  listen(): Promise<string>;
  setTier(account: string, tier: Tier["name"]): Promise<void>;
  close(): Promise<void>;
};

const LEADER_LOCK = 7264002;
/** Full re-read of provider state; events keep it current in between. */
const PROVIDER_REFRESH_MS = 300_000;
const SLI_FLUSH_MS = 5_000;

export async function buildGateway(options: GatewayOptions): Promise<Gateway> {
  const { logger, tiers: tierOverrides, onBatchStage, manualLoops, ...input } = options;
  const config: GatewayConfig = parseConfig(input);
  const log = logger ?? createLogger(config.logLevel);
  const db: Db = config.databaseUrl ? await openPostgres(config.databaseUrl, config.databaseSchema) : await openPglite(config.dataDir, { threadNice: config.dbThreadNice, onRestart: (cause) => log.error({ err: cause.message }, "the PGlite thread died; its statements failed and a new thread opened the data directory") });
  const chain = defineChain({ id: config.chainId, name: `chain-${config.chainId}`, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [config.rpcUrl] } } });
  const transport = http(config.rpcUrl, { timeout: config.rpcTimeoutMs, retryCount: 2 });
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 100 }) as PublicClient;
  const signer = privateKeyToAccount(config.signerKey);
  const wallet = createWalletClient({ chain, transport, account: signer }) as WalletClient;
  // Every transaction of the signer is prepared and sent one at a time (see shared/one-at-a-time.ts);
  // only the sending is in the lane, not the wait for a receipt.
  const sendLane = oneAtATime();
  const walletClient: WalletClient = { ...wallet, writeContract: ((args: Parameters<WalletClient["writeContract"]>[0]) => sendLane(() => wallet.writeContract(args))) as WalletClient["writeContract"] };

  let redis: import("ioredis").Redis | null = null;
  if (config.redisUrl) {
    const { Redis } = await import("ioredis");
    redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2, lazyConnect: false });
  }
  const ledgerInit: LedgerInit = (customer) =>
    // One snapshot: the balance, the unsettled spend and the follower's cursor agree with each other.
    db.tx(async (q) => {
      if (db.kind === "postgres") await q.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
      const cur = await q.query(`SELECT block FROM cursors WHERE name = 'escrow'`);
      const c = await q.query(`SELECT available, debt FROM customers WHERE address = $1`, [customer]);
      const s = await q.query(
        `SELECT COALESCE(SUM(charge_units), 0) AS s FROM receipts WHERE customer = $1 AND status <> 3
         AND (batch_id IS NULL OR batch_id IN (SELECT id FROM batches WHERE state <> 'settled'))`,
        [customer],
      );
      return { available: big(c[0]?.available), debt: big(c[0]?.debt), spent: big(s[0]?.s), block: cur[0] ? big(cur[0].block) : -1n };
    });
  // What a request holds in Redis is leased: a crashed replica's holds lapse within one lease.
  const leases = redis ? new LeaseKeeper(redis, config.leaseSec * 1000, log) : null;
  const ledger: Ledger = redis && leases ? new RedisLedger(redis, config.redisPrefix, ledgerInit, leases) : new MemoryLedger(ledgerInit);
  const limiter: RateLimiter = redis && leases ? new RedisRateLimiter(redis, config.redisPrefix, leases) : new MemoryRateLimiter();
  const dailySpend: DailySpend = redis && leases ? new RedisDailySpend(db, redis, config.redisPrefix, leases) : new MemoryDailySpend(db);
  const tiers: Tiers = { ...DEFAULT_TIERS, ...tierOverrides };
  const tierCache = new RefreshCache<Tier>(10_000, async (account) => {
    const rows = await db.query(`SELECT tier FROM accounts WHERE address = $1`, [account]);
    return tiers[(rows[0]?.tier as Tier["name"]) ?? "hobby"] ?? tiers.hobby;
  });
  const tierOf = (account: string): Promise<Tier> => tierCache.get(account);
  const tokenSecret = createHmac("sha256", Buffer.from(config.signerKey.slice(2), "hex")).update("tollgate worker tokens").digest();
  const registry = new WorkerRegistry(db, tokenSecret, config.heartbeatIntervalMs, log);
  await registry.sync();
  const reads = new ProviderReads(publicClient, config.registry, config.staking);
  let leader = false;

  const ctx: Ctx = {
    config,
    log,
    db,
    // A PGlite data directory belongs to this process alone: every change to a key goes through this
    // KeyStore, which drops the cached entry at once, so the cache only saves lookups. Those lookups
    // queue on the database thread behind receipt writes at a lower priority; under load a refresh
    // took over half a second and requests waited up to 60 ms for it (docs/benchmarks.md). With
    // PostgreSQL another replica may revoke a key: 1 s bounds how long this one still accepts it.
    keys: new KeyStore(db, config.keyEnv, db.kind === "pglite" ? 60_000 : 1_000),
    siwe: new Siwe(db, publicClient, {
      domain: config.publicDomain,
      chainId: config.chainId,
      nonceTtlMs: config.siweTtlSec * 1000,
      sessionTtlMs: config.sessionTtlSec * 1000,
      rpcTimeoutMs: config.rpcTimeoutMs,
    }),
    ledger,
    redis,
    limiter,
    tiers,
    tierOf,
    registry,
    reads,
    dispatcher: createWorkerDispatcher(config.devnet),
    receipts: new ReceiptWriter(db),
    tokens: new TokenCounter(),
    metrics: createMetrics(),
    sli: new Sli(),
    dailySpend,
    publicClient,
    walletClient,
    signer,
    startedAt: Date.now(),
    isLeader: () => leader,
  };

  const app = Fastify({
    loggerInstance: log as never,
    logController: new LogController({ disableRequestLogging: true }),
    // Requests are not logged, and the gateway's own log lines carry their request id: no per-request
    // child logger (pino builds one with its redaction for every request, on the relay's thread).
    childLoggerFactory: (logger) => logger,
    bodyLimit: 8 * 1024 * 1024,
    trustProxy: config.trustProxy ?? false,
    requestTimeout: 0,
    keepAliveTimeout: 30_000,
    return503OnClosing: true,
    // A URL the router cannot decode, or a path parameter above its length limit: OpenAI's shape too.
    frameworkErrors: (err, _req, reply) => {
      (reply as FastifyReply).code(err.statusCode ?? 400).send({ error: { message: "malformed URL", type: "invalid_request_error", param: null, code: "invalid_request" } });
    },
  }) as unknown as FastifyInstance;
  app.server.headersTimeout = 30_000;
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof ApiError) return reply.code(err.status).headers(err.headers).send(err.body());
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) log.error({ err: { message: err.message, stack: err.stack } }, "unhandled error");
    const message =
      status === 413 ? "request body too large" : status === 415 ? "send the body as JSON (Content-Type: application/json)" : status === 400 ? "malformed request body (expecting JSON)" : status < 500 ? "bad request" : "internal error";
    reply.code(status).send({ error: { message, type: status < 500 ? "invalid_request_error" : "server_error", param: null, code: status === 413 ? "body_too_large" : status < 500 ? "invalid_request" : "internal_error" } });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: { message: "no such route", type: "not_found_error", param: null, code: "not_found" } }));
  await registerCors(app, config.corsOrigins);
  await app.register(openaiRoutes(ctx));
  await app.register(accountRoutes(ctx));
  await app.register(workerRoutes(ctx));
  await app.register(receiptRoutes(ctx));
  await app.register(statusRoutes(ctx));

  const follower = new ChainFollower(ctx);
  const poster = new BatchPoster(ctx, onBatchStage);
  const prober = new Prober(ctx);
  const sla = new SlaReporter(ctx);
  const arrears = new ArrearsCollector(ctx);
  await sla.windowStart(); // the first start opens the first SLA window
  const timers: NodeJS.Timeout[] = [];
  const providerEvents = new ProviderEvents({ client: publicClient, registryAddress: config.registry, stakingAddress: config.staking, reads, workers: registry, log, pollMs: config.chainPollMs });

  // Routing reads only cached chain state: refresh provider status and prices in the background.
  const refreshProviders = async () => {
    // A worker key its provider revoked on-chain (WorkerRevoked) stops being routable here.
    await Promise.all(
      registry.all().map(async (w) => {
        const owner = await reads.providerOfWorker(w.worker).catch(() => w.provider);
        if (owner !== w.provider) {
          log.warn({ workerId: w.id, worker: w.worker }, "worker key no longer authorized on-chain; dropped");
          await registry.removeWorkerKey(w.worker);
        }
      }),
    );
    const pairs = new Set<string>();
    for (const w of registry.all()) for (const m of w.models) pairs.add(`${w.provider}|${m}`);
    await Promise.all(
      [...pairs].map(async (p) => {
        const [provider, model] = p.split("|") as [`0x${string}`, string];
        await Promise.all([reads.isActive(provider, true), reads.price(provider, model, true)]).catch(() => {});
      }),
    );
  };
  await refreshProviders().catch(() => {});
  /** Workers another replica registered: fetch their provider's state before routing to them. */
  const fillMissingReads = async () => {
    await Promise.all(
      registry.all().flatMap((w) =>
        w.models
          .filter((m) => reads.cachedPrice(w.provider, m) === undefined || reads.cachedActive(w.provider) === undefined)
          .map((m) => Promise.all([reads.isActive(w.provider), reads.price(w.provider, m)]).catch(() => {})),
      ),
    );
  };

  leader = await db.tryLeaderLock(LEADER_LOCK);
  if (!manualLoops) {
    if (leader) {
      follower.start();
      poster.start();
      sla.start();
      arrears.start();
    }
    prober.start();
    await providerEvents.start().catch((err: Error) => log.warn({ err: err.message }, "provider events: could not start; the slow refresh still runs"));
    // SLIs go to the database every few seconds (the SLA window outlives this process).
    timers.push(setInterval(() => void ctx.sli.flush(db).catch((err: Error) => log.warn({ err: err.message }, "SLI flush failed")), SLI_FLUSH_MS));
    // Safety net behind the events (a missed log, an RPC that dropped a range): a full re-read.
    timers.push(setInterval(() => void refreshProviders(), PROVIDER_REFRESH_MS));
    // Other replicas' workers and a vacated leader lock: only a shared PostgreSQL has other replicas
    // (a PGlite data directory belongs to one process, and this one already knows its own workers).
    const watchReplicas = () => {
      void registry.sync().then(fillMissingReads).catch(() => {});
      if (!leader)
        void db.tryLeaderLock(LEADER_LOCK).then((ok) => {
          if (ok && !leader) {
            leader = true;
            log.info("this replica is now the batch poster");
            follower.start();
            poster.start();
            sla.start();
            arrears.start();
          }
        });
    };
    if (db.kind === "postgres") timers.push(setInterval(watchReplicas, 1_000));
    for (const t of timers) t.unref();
  }
  if (!leader) log.info("another replica posts batches; this one serves requests");
  if (config.databaseUrl && !config.redisUrl) log.warn("DATABASE_URL without REDIS_URL: run a single replica (rate limits and balances are per process)");

  let closed = false;
  return {
    app,
    ctx,
    follower,
    poster,
    prober,
    sla,
    async listen() {
      return app.listen({ host: config.host, port: config.port });
    },
    async setTier(account, tier) {
      await db.query(`INSERT INTO accounts (address, tier, created_ms) VALUES ($1, $2, $3) ON CONFLICT (address) DO UPDATE SET tier = $2`, [account.toLowerCase(), tier, Date.now()]);
      tierCache.delete(account.toLowerCase());
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearInterval(t);
      leases?.stop();
      prober.stop();
      sla.stop();
      await providerEvents.stop();
      await follower.stop();
      await arrears.stop();
      await poster.stop();
      await app.close();
      await ctx.receipts.idle();
      await ctx.sli.flush(db).catch((err: Error) => log.warn({ err: err.message }, "SLI flush failed at shutdown"));
      await ctx.dispatcher.close().catch(() => {});
      await ctx.tokens.close();
      redis?.disconnect();
      await db.close();
    },
  };
}
