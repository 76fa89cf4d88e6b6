/**
 * Gateway configuration from environment variables, validated with zod at start. Every mistake is
 * reported with the variable's name; nothing secret is echoed back.
 */
import { z } from "zod";
import { getAddress, isAddress, type Address, type Hex } from "viem";
import { HEAP_GROWING_PERCENT } from "./shared/heap-growth.ts";

const address = z
  .string()
  .refine((s) => isAddress(s, { strict: false }), "not an Ethereum address")
  .transform((s) => getAddress(s) as Address);
const privateKey = z
  .string()
  .trim()
  .regex(/^(0x)?[0-9a-fA-F]{64}$/, "must be 32 bytes of hex")
  .transform((s) => (s.startsWith("0x") ? s : `0x${s}`) as Hex);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z
  .union([z.boolean(), z.enum(["true", "false", "1", "0", "yes", "no"])])
  .transform((v) => v === true || v === "true" || v === "1" || v === "yes");

export const configSchema = z.object({
  host: z.string().default("127.0.0.1"),
  port: int(0, 65535).default(8080),
  /** Public host name customers use; SIWE messages must carry it as `domain`. */
  publicDomain: z.string().min(1).default("localhost:8080"),
  /** PGlite data directory (default storage); ignored when databaseUrl is set. "memory://" keeps it in RAM. */
  dataDir: z.string().default("./gateway-data"),
  /**
   * Nice value of PGlite's thread (Linux): above the event loop's so that waking it for a statement
   * does not preempt the thread relaying tokens. 0 keeps the process's priority.
   */
  dbThreadNice: int(0, 19).default(10),
  databaseUrl: z.string().startsWith("postgres").optional(),
  /** Schema to use in PostgreSQL (tests use one per run). */
  databaseSchema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/).default("public"),
  redisUrl: z.string().startsWith("redis").optional(),
  /** Prefix of every Redis key (one per deployment or test). */
  redisPrefix: z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/).default("tollgate"),
  rpcUrl: z.url(),
  chainId: int(1, 2 ** 31),
  gatewayId: int(1, 2 ** 32 - 1),
  signerKey: privateKey,
  settlement: address,
  registry: address,
  staking: address,
  slaCredits: address,
  /** Block to start following events from (the deployment block). */
  startBlock: int(0, Number.MAX_SAFE_INTEGER).default(0),
  /** Devnet: allow http:// and private/loopback worker endpoints. Never in production. */
  devnet: bool.default(false),
  /** Environment of the API keys this gateway issues: tg_live_ or tg_test_. */
  keyEnv: z.enum(["live", "test"]).default("test"),
  epochMs: int(100, 86_400_000).default(60_000),
  /** Close a batch early once this many receipts wait. */
  batchMaxReceipts: int(1, 100_000).default(5_000),
  batchDeadlineSec: int(30, 86_400).default(900),
  chainPollMs: int(50, 600_000).default(2_000),
  heartbeatIntervalMs: int(100, 600_000).default(10_000),
  probeIntervalMs: int(0, 3_600_000).default(30_000),
  slaWindowSec: int(0, 31 * 86_400).default(0),
  /**
   * Backstop pass of the SLA arrears keeper: every provider with open arrears is checked this often,
   * besides on its Staked / StakeUnlocked events (a missed log, a failed attempt). Five minutes, like
   * the full re-read of provider state: stake changes are rare, and a check is two reads per provider.
   */
  arrearsCheckMs: int(1_000, 86_400_000).default(300_000),
  /** Drift between worker and gateway token counts above this fraction is recorded. */
  driftThreshold: z.coerce.number().min(0).max(1).default(0.05),
  siweTtlSec: int(10, 3600).default(300),
  /**
   * Requests per client IP per minute (counted in Redis across replicas when redisUrl is set) to
   * each of GET /v1/auth/nonce and POST /v1/auth/login. Each nonce is a database row until it
   * expires, and a login may cost an RPC call (smart-wallet signatures): without a limit one client
   * could fill the table or the RPC quota. A person signs in a few times a day; 0 turns the limit off.
   */
  authRequestsPerMinute: int(0, 1_000_000).default(60),
  /**
   * Behind a load balancer or reverse proxy: which hops to trust for the client's address
   * (X-Forwarded-For), as fastify's `trustProxy` takes it: "true" (every hop) or a comma-separated
   * list of the proxies' addresses or CIDR ranges. Unset, the client is the TCP peer, and behind a
   * proxy every customer would share the proxy's sign-in allowance.
   */
  trustProxy: z
    .union([
      z.boolean(),
      z.array(z.string().min(1)).min(1),
      z
        .string()
        .trim()
        .min(1)
        .transform((v): boolean | string[] => (v === "true" ? true : v === "false" ? false : v.split(",").map((a) => a.trim()))),
    ])
    .optional(),
  sessionTtlSec: int(60, 30 * 86_400).default(86_400),
  rpcTimeoutMs: int(100, 60_000).default(5_000),
  upstreamFirstTokenTimeoutMs: int(100, 600_000).default(60_000),
  requestTimeoutMs: int(1000, 3_600_000).default(600_000),
  /** Lease of a request's Redis holds (reservation, concurrency slot), renewed every quarter lease while it lives. */
  leaseSec: int(1, 3600).default(60),
  /** While a stream waits for its first token, an SSE comment this often (so proxies keep it open). */
  sseKeepAliveMs: int(100, 600_000).default(15_000),
  /**
   * Origins allowed to call the dApp's routes from a browser: a comma-separated list of origins
   * (`https://app.example`), or `*` for any. Default: none (no CORS headers at all).
   */
  corsOrigins: z
    .union([z.string().transform((s) => s.split(",")), z.array(z.string())])
    .default([])
    .transform((list) => list.map((o) => o.trim()).filter((o) => o !== ""))
    .pipe(z.array(z.union([z.literal("*"), z.url({ protocol: /^https?$/ }).transform((o) => new URL(o).origin)], { error: "each origin must be http(s)://host[:port], or * for any" }))),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /**
   * How far the heap grows past its live size before a full garbage collection, in percent (see
   * shared/heap-growth.ts): fewer pauses of the event loop for more memory. 0 = V8's own choice.
   */
  heapGrowingPercent: int(0, 1000).default(HEAP_GROWING_PERCENT),
});
export type GatewayConfig = z.output<typeof configSchema>;
export type GatewayConfigInput = z.input<typeof configSchema>;

/** Environment variable of each option. */
export const ENV_NAMES: Record<keyof GatewayConfig, string> = {
  host: "HOST",
  port: "PORT",
  publicDomain: "TOLLGATE_PUBLIC_DOMAIN",
  dataDir: "TOLLGATE_DATA_DIR",
  dbThreadNice: "TOLLGATE_DB_THREAD_NICE",
  databaseUrl: "DATABASE_URL",
  databaseSchema: "TOLLGATE_DB_SCHEMA",
  redisUrl: "REDIS_URL",
  redisPrefix: "TOLLGATE_REDIS_PREFIX",
  rpcUrl: "TOLLGATE_RPC_URL",
  chainId: "TOLLGATE_CHAIN_ID",
  gatewayId: "TOLLGATE_GATEWAY_ID",
  signerKey: "TOLLGATE_SIGNER_KEY",
  settlement: "TOLLGATE_SETTLEMENT",
  registry: "TOLLGATE_REGISTRY",
  staking: "TOLLGATE_STAKING",
  slaCredits: "TOLLGATE_SLA_CREDITS",
  startBlock: "TOLLGATE_START_BLOCK",
  devnet: "TOLLGATE_DEVNET",
  keyEnv: "TOLLGATE_KEY_ENV",
  epochMs: "TOLLGATE_EPOCH_MS",
  batchMaxReceipts: "TOLLGATE_BATCH_MAX_RECEIPTS",
  batchDeadlineSec: "TOLLGATE_BATCH_DEADLINE_SEC",
  chainPollMs: "TOLLGATE_CHAIN_POLL_MS",
  heartbeatIntervalMs: "TOLLGATE_HEARTBEAT_MS",
  probeIntervalMs: "TOLLGATE_PROBE_INTERVAL_MS",
  slaWindowSec: "TOLLGATE_SLA_WINDOW_SEC",
  arrearsCheckMs: "TOLLGATE_ARREARS_CHECK_MS",
  driftThreshold: "TOLLGATE_DRIFT_THRESHOLD",
  siweTtlSec: "TOLLGATE_SIWE_TTL_SEC",
  authRequestsPerMinute: "TOLLGATE_AUTH_REQUESTS_PER_MIN",
  trustProxy: "TOLLGATE_TRUST_PROXY",
  sessionTtlSec: "TOLLGATE_SESSION_TTL_SEC",
  rpcTimeoutMs: "TOLLGATE_RPC_TIMEOUT_MS",
  upstreamFirstTokenTimeoutMs: "TOLLGATE_FIRST_TOKEN_TIMEOUT_MS",
  requestTimeoutMs: "TOLLGATE_REQUEST_TIMEOUT_MS",
  sseKeepAliveMs: "TOLLGATE_SSE_KEEPALIVE_MS",
  leaseSec: "TOLLGATE_LEASE_SEC",
  corsOrigins: "TOLLGATE_CORS_ORIGINS",
  logLevel: "LOG_LEVEL",
  heapGrowingPercent: "TOLLGATE_HEAP_GROWING_PERCENT",
};

export class ConfigError extends Error {}

function explain(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const key = i.path[0] as keyof GatewayConfig | undefined;
      const name = key ? (ENV_NAMES[key] ?? String(key)) : "config";
      return `  ${name}: ${i.message}`;
    })
    .join("\n");
}

/** Validate options given in code (tests, embedding). */
export function parseConfig(input: GatewayConfigInput): GatewayConfig {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError(`invalid gateway configuration:\n${explain(parsed.error)}`);
  return parsed.data;
}

/** Read options from the environment: each variable of ENV_NAMES that is set. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const input: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV_NAMES)) {
    const v = env[name];
    if (v !== undefined && v !== "") input[key] = v;
  }
  return parseConfig(input as GatewayConfigInput);
}
