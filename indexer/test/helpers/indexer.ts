import pino from "pino";
import { startIndexer, type IndexerOptions } from "../../src/index.ts";
import { gql } from "../../src/reconcile.ts";
import type { Devnet } from "./devnet.ts";

export { gql };

/** An indexer on the devnet; silent unless INDEXER_TEST_LOGS is set. */
export async function indexerFor(dn: Devnet, opts: Partial<IndexerOptions> = {}) {
  return startIndexer({
    rpcUrl: dn.url, deployment: dn.deployment, port: 0, pollMs: 100,
    logger: pino({ level: process.env.INDEXER_TEST_LOGS ?? "silent" }),
    ...opts,
  });
}

export async function head(dn: Devnet): Promise<number> {
  return Number(await dn.pc.getBlockNumber({ cacheTime: 0 })); // viem caches the head for its polling interval by default
}
