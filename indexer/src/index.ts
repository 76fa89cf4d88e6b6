/**
 * @tollgate/indexer: follows the Tollgate contracts (reorg-safe), verifies every batch against the
 * receipts its gateway publishes, and serves GraphQL for auditors and the dApp.
 *
 *   const ix = await startIndexer({ rpcUrl, deployment, gateways: { "1": "http://127.0.0.1:8080" } });
 *   ix.url            // http://127.0.0.1:P/graphql
 *   await ix.waitForBlock(n)
 *   await ix.stop()
 */
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { openDb, type Db } from "./db/db.ts";
import { Rpc } from "./chain/rpc.ts";
import { Follower, type FollowerStats } from "./sync/follower.ts";
import { ReceiptVerifier } from "./receipts/verifier.ts";
import { createGraphqlServer } from "./graphql/server.ts";
import { TreeCache } from "./graphql/tree-cache.ts";
import { optionsSchema, formatIssues, type IndexerOptions } from "./config.ts";
import { createLogger } from "./log.ts";

export type { IndexerOptions } from "./config.ts";
export { optionsFromEnv } from "./config.ts";

export type Indexer = {
  url: string;
  db: Db;
  stats: FollowerStats;
  /** Resolves once every block up to `n` is committed (rejects after `timeoutMs`). */
  waitForBlock(n: number, timeoutMs?: number): Promise<void>;
  /** Run one follow step now (tests); returns the last committed block. */
  syncNow(): Promise<number>;
  /** Check every due PENDING batch against its gateway now (tests). */
  verifyNow(): Promise<void>;
  stop(): Promise<void>;
};

export async function startIndexer(input: IndexerOptions & { logger?: Logger }): Promise<Indexer> {
  const parsed = optionsSchema.safeParse(input);
  if (!parsed.success) throw new Error(`invalid indexer options:\n${formatIssues(parsed.error)}`);
  const opts = parsed.data;
  const log = input.logger ?? createLogger(opts.logLevel);
  const db = await openDb({ databaseUrl: opts.databaseUrl, dbSchema: opts.dbSchema, dataDir: opts.dataDir });
  const rpc = new Rpc(opts.rpcUrl, log);
  const follower = new Follower(db, rpc, opts.deployment, log, opts.maxBlockRange);
  try {
    await follower.init();
  } catch (err) {
    await db.close();
    throw err;
  }
  const verifier = new ReceiptVerifier(db, opts.gateways, log, opts.pollMs);

  // Follow loop: one step at a time, never overlapping (a step that fails is retried next tick).
  let stopped = false;
  let stepping: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;
  const step = () => {
    stepping = stepping.then(() => follower.step()).catch((err) => log.error({ err: (err as Error).message }, "follow step failed; retrying"));
    return stepping;
  };
  const loop = async () => {
    await step();
    if (!stopped) timer = setTimeout(loop, opts.pollMs);
  };
  void loop();
  verifier.start();

  const server = createGraphqlServer(
    { db, stats: follower.stats, chainId: opts.deployment.chainId, disputeWindow: follower.disputeWindow, initialMinStake: follower.initialMinStake, trees: new TreeCache() },
    log,
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${opts.host}:${port}/graphql`;
  log.info({ url, database: db.kind, from: follower.stats.lastBlock + 1 }, "indexer listening");

  return {
    url,
    db,
    stats: follower.stats,
    async waitForBlock(n, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (follower.stats.lastBlock < n) {
        if (Date.now() > deadline) throw new Error(`indexer did not reach block ${n} in ${timeoutMs} ms (at ${follower.stats.lastBlock})`);
        await new Promise<void>((resolve) => {
          const off = follower.onProgress(() => (off(), resolve()));
          setTimeout(() => (off(), resolve()), 50);
        });
      }
    },
    syncNow: async () => {
      await step();
      return follower.stats.lastBlock;
    },
    verifyNow: () => verifier.checkDue(),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await verifier.stop();
      await stepping;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await db.close();
    },
  };
}
