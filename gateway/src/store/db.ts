/**
 * Storage: one interface over PGlite (embedded, default) and PostgreSQL (`DATABASE_URL`). Both speak
 * the same SQL with $1 parameters; bigint and numeric columns come back as strings or numbers, so
 * callers convert with `big()`.
 */
import { mkdirSync } from "node:fs";
import { SCHEMA } from "./schema.ts";

export type Row = Record<string, unknown>;

export interface Queryable {
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface Db extends Queryable {
  kind: "pglite" | "postgres";
  /** Run `fn` in one transaction. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Try to become the one replica that posts batches (session-level advisory lock). */
  tryLeaderLock(key: number): Promise<boolean>;
  close(): Promise<void>;
}

export const big = (v: unknown): bigint => (v === null || v === undefined ? 0n : BigInt(String(v)));

async function migrate(db: Queryable): Promise<void> {
  for (const stmt of SCHEMA) await db.query(stmt);
}

export async function openPglite(dataDir: string): Promise<Db> {
  const { PGlite } = await import("@electric-sql/pglite");
  if (!dataDir.startsWith("memory://")) mkdirSync(dataDir, { recursive: true });
  const pg = new PGlite(dataDir);
  await pg.waitReady;
  const wrap = (q: { query: (s: string, p?: unknown[]) => Promise<{ rows: unknown[] }> }): Queryable => ({
    async query<T extends Row>(sql: string, params?: unknown[]) {
      return (await q.query(sql, params)).rows as T[];
    },
  });
  const db: Db = {
    kind: "pglite",
    ...wrap(pg),
    tx: (fn) => pg.transaction((t) => fn(wrap(t))),
    // One process owns a PGlite directory, so it is always the leader.
    tryLeaderLock: async () => true,
    close: () => pg.close(),
  };
  await migrate(db);
  return db;
}

export async function openPostgres(url: string, schema: string): Promise<Db> {
  const { default: pg } = await import("pg");
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  await setup.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await setup.end();
  const pool = new pg.Pool({ connectionString: url, max: 10, options: `-c search_path=${schema}` });
  pool.on("error", () => {}); // a dropped idle client is replaced on next use
  let lockClient: import("pg").PoolClient | null = null;
  const db: Db = {
    kind: "postgres",
    async query<T extends Row>(sql: string, params?: unknown[]) {
      return (await pool.query(sql, params as unknown[])).rows as T[];
    },
    async tx(fn) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const out = await fn({ query: async <T extends Row>(s: string, p?: unknown[]) => (await client.query(s, p as unknown[])).rows as T[] });
        await client.query("COMMIT");
        return out;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    async tryLeaderLock(key: number) {
      if (lockClient) return true;
      const client = await pool.connect();
      // Keyed by schema too: gateways sharing a database in schemas of their own each get a leader.
      const rows = (await client.query("SELECT pg_try_advisory_lock($1, hashtext(current_schema())) AS ok", [key])).rows;
      if (rows[0]?.ok === true) {
        lockClient = client; // held for the life of this session
        return true;
      }
      client.release();
      return false;
    },
    async close() {
      lockClient?.release();
      lockClient = null;
      await pool.end();
    },
  };
  await db.tx(async (q) => {
    // Two replicas migrating at once would race on CREATE TABLE IF NOT EXISTS.
    await q.query("SELECT pg_advisory_xact_lock(7264001, hashtext(current_schema()))");
    await migrate(q);
  });
  return db;
}
