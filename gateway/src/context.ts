/** Everything a request handler or a background loop needs, built once by buildGateway. */
import type { Logger } from "pino";
import type { PublicClient, WalletClient, LocalAccount } from "viem";
import type { Agent } from "undici";
import type { GatewayConfig } from "./config.ts";
import type { Db } from "./store/db.ts";
import type { KeyStore } from "./auth/keys.ts";
import type { Siwe } from "./auth/siwe.ts";
import type { Ledger } from "./admission/ledger.ts";
import type { RateLimiter } from "./admission/limits.ts";
import type { Tier, Tiers } from "./admission/tiers.ts";
import type { WorkerRegistry } from "./routing/registry.ts";
import type { ProviderReads } from "./routing/chain-reads.ts";
import type { ReceiptWriter } from "./metering/receipts.ts";
import type { TokenCounter } from "./metering/token-counter.ts";
import type { Metrics } from "./http/metrics.ts";
import type { Sli } from "./settlement/sli.ts";
import type { DailySpend } from "./admission/daily-spend.ts";

export type Ctx = {
  config: GatewayConfig;
  log: Logger;
  db: Db;
  keys: KeyStore;
  siwe: Siwe;
  ledger: Ledger;
  /** Shared by replicas when REDIS_URL is set: ledger, rate limits and the sign-in limit live there. */
  redis: import("ioredis").Redis | null;
  limiter: RateLimiter;
  tiers: Tiers;
  tierOf(account: string): Promise<Tier>;
  registry: WorkerRegistry;
  reads: ProviderReads;
  dispatcher: Agent;
  receipts: ReceiptWriter;
  /** The gateway's own token counts; long texts are counted on a thread of their own. */
  tokens: TokenCounter;
  metrics: Metrics;
  sli: Sli;
  dailySpend: DailySpend;
  publicClient: PublicClient;
  /** The signer's wallet; its `writeContract` sends one transaction at a time (one nonce each). */
  walletClient: WalletClient;
  signer: LocalAccount;
  startedAt: number;
  isLeader(): boolean;
};
