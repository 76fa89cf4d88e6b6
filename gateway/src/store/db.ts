/**
 * Storage: one interface over PGlite (embedded, default) and PostgreSQL (`DATABASE_URL`). Both speak
 * the same SQL with $1 parameters; bigint and numeric columns come back as strings or numbers, so
 * callers convert with `big()`.
 */
import { mkdirSync } from "node:fs";
import { Worker } from "node:worker_threads";
import type { ThreadError, ThreadReply } from "./pglite-thread.ts";
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

/**
 * PGlite in a worker thread of its own (`pglite-thread.ts`): its WebAssembly runs off the event loop
 * that relays the streams. A transaction holds the connection: statements from outside it wait
 * until it ends, as they would behind PGlite's own transaction lock.
 */
export async function openPglite(dataDir: string, opts: { threadNice?: number } = {}): Promise<Db> {
  if (!dataDir.startsWith("memory://")) mkdirSync(dataDir, { recursive: true });
  const thread = new Worker(new URL("./pglite-thread.ts", import.meta.url), { workerData: { dataDir, nice: opts.threadNice ?? 10 } });
  const pending = new Map<number, { resolve: (rows: unknown[]) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let dead: Error | null = null;
  const toError = (e: ThreadError) => Object.assign(new Error(e.message), e.code ? { code: e.code } : {}, e.detail ? { detail: e.detail } : {});
  // The thread keeps the process alive only while a statement is waiting for it.
  const settle = (id: number) => {
    const p = pending.get(id);
    pending.delete(id);
    if (pending.size === 0) thread.unref();
    return p;
  };
  const ready = new Promise<void>((resolve, reject) => {
    thread.on("message", (m: ThreadReply) => {
      if ("ready" in m) return resolve();
      if ("failed" in m) return reject(toError(m.failed));
      const p = settle(m.id);
      if ("error" in m) p?.reject(toError(m.error));
      else p?.resolve(m.rows);
    });
    const die = (err: Error) => {
      dead ??= err;
      reject(err);
      for (const id of [...pending.keys()]) settle(id)?.reject(err);
    };
    thread.on("error", die);
    thread.on("exit", (code) => die(new Error(`the PGlite thread exited (code ${code})`)));
  });
  const post = (m: { sql: string; params?: unknown[] } | { close: true }): Promise<unknown[]> => {
    if (dead) return Promise.reject(dead);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      thread.ref();
      thread.postMessage({ id, ...m });
    });
  };
  const send: Queryable = {
    async query<T extends Row>(sql: string, params?: unknown[]) {
      return (await post({ sql, params })) as T[];
    },
  };
  let txDone: Promise<void> | null = null;
  const db: Db = {
    kind: "pglite",
    async query<T extends Row>(sql: string, params?: unknown[]) {
      while (txDone) await txDone;
      return send.query<T>(sql, params);
    },
    async tx(fn) {
      while (txDone) await txDone;
      let end!: () => void;
      txDone = new Promise((r) => (end = r));
      try {
        await send.query("BEGIN");
        try {
          const out = await fn(send);
          await send.query("COMMIT");
          return out;
        } catch (err) {
          await send.query("ROLLBACK").catch(() => {});
          throw err;
        }
      } finally {
        txDone = null;
        end();
      }
    },
    // One process owns a PGlite directory, so it is always the leader.
    tryLeaderLock: async () => true,
    async close() {
      if (!dead) await post({ close: true }).catch(() => {});
      await thread.terminate();
    },
  };
  try {
    await ready;
    await migrate(db);
  } catch (err) {
    await thread.terminate();
    throw err;
  }
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
