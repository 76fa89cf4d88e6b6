/**
 * Storage: one small interface over PGlite (embedded, default) and PostgreSQL (`DATABASE_URL`), the
 * same shape as the gateway's (gateway/src/store/db.ts). Both run the same SQL with $1 parameters.
 * Bulk writes go through `insertMany`: one `INSERT ... SELECT FROM unnest($1::type[], ...)` per table
 * and commit, so a range of 10,000 events is a handful of round trips, not 10,000.
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
  close(): Promise<void>;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/** Column names and SQL types of every table, read from the catalog after migrating (one schema, no copy). */
const COLUMNS = new Map<string, { name: string; type: string }[]>();

async function loadColumns(q: Queryable): Promise<void> {
  const rows = await q.query(
    `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
  );
  COLUMNS.clear();
  for (const r of rows) {
    const t = String(r.table_name);
    if (!COLUMNS.has(t)) COLUMNS.set(t, []);
    COLUMNS.get(t)!.push({ name: String(r.column_name), type: String(r.data_type) });
  }
}

/**
 * Insert rows (objects keyed by column name) in one statement: one array parameter per column and
 * `INSERT ... SELECT FROM unnest(...)`, which both PostgreSQL and PGlite parse about 3x faster than
 * the same rows as JSON. bigint values travel as decimal strings; a missing column is NULL.
 */
export async function insertMany(q: Queryable, table: string, rows: readonly Row[]): Promise<void> {
  if (rows.length === 0) return;
  const cols = COLUMNS.get(table);
  if (!cols) throw new Error(`unknown table ${table}`);
  const params = cols.map((c) =>
    rows.map((r) => {
      const v = r[c.name];
      return v === undefined ? null : typeof v === "bigint" ? v.toString() : v;
    }),
  );
  const arrays = cols.map((c, i) => `$${i + 1}::${c.type === "jsonb" ? "text" : c.type}[]`).join(", ");
  const select = cols.map((c, i) => (c.type === "jsonb" ? `c${i}::jsonb` : `c${i}`)).join(", ");
  await q.query(
    `INSERT INTO ${table} (${cols.map((c) => c.name).join(", ")}) SELECT ${select} FROM unnest(${arrays}) AS u(${cols.map((_, i) => `c${i}`).join(", ")})`,
    params,
  );
}

async function migrate(db: Queryable): Promise<void> {
  for (const stmt of SCHEMA) await db.query(stmt);
  await loadColumns(db);
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
    close: () => pg.close(),
  };
  await migrate(db);
  return db;
}

export async function openPostgres(url: string, schema: string): Promise<Db> {
  if (!IDENT.test(schema)) throw new Error(`INDEXER_DB_SCHEMA must be a lowercase SQL identifier, got ${JSON.stringify(schema)}`);
  const { default: pg } = await import("pg");
  // numeric and int8 come back as strings: the indexer converts with BigInt where it needs arithmetic.
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  await setup.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await setup.end();
  const pool = new pg.Pool({ connectionString: url, max: 8, options: `-c search_path=${schema}` });
  pool.on("error", () => {}); // a dropped idle client is replaced on next use
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
    close: () => pool.end(),
  };
  await db.tx(async (q) => {
    await q.query("SELECT pg_advisory_xact_lock(7264005)");
    await migrate(q);
  });
  return db;
}

export async function openDb(opts: { databaseUrl?: string; dbSchema?: string; dataDir?: string }): Promise<Db> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts.dbSchema ?? "tollgate_indexer");
  return openPglite(opts.dataDir ?? "memory://");
}

export const big = (v: unknown): bigint => (v === null || v === undefined ? 0n : BigInt(String(v)));
