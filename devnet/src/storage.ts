/**
 * The devnet's state outside its data directory, on the scale path: the PostgreSQL schemas of the
 * gateway and the indexer, and the gateway's Redis keys. A fresh devnet starts from none of them.
 */
import pg from "pg";
import { Redis } from "ioredis";

export function indexerSchema(schema: string): string {
  return `${schema}_indexer`;
}

/** Drops the devnet's schemas and deletes its Redis keys. Safe to call when nothing exists. */
export async function wipeExternalStorage(opts: { databaseUrl?: string; dbSchema: string; redisUrl?: string; redisPrefix: string }): Promise<void> {
  if (opts.databaseUrl) {
    const client = new pg.Client({ connectionString: opts.databaseUrl });
    await client.connect();
    try {
      for (const s of [opts.dbSchema, indexerSchema(opts.dbSchema)]) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    } finally {
      await client.end();
    }
  }
  if (opts.redisUrl) {
    const redis = new Redis(opts.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
    await redis.connect();
    try {
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${opts.redisPrefix}*`, "COUNT", 500);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== "0");
    } finally {
      redis.disconnect();
    }
  }
}
