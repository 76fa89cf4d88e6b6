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
 *
 * A thread that dies after it started (a WebAssembly trap, out of memory) fails the statements it
 * held and is replaced by a new one on the same data directory, which PostgreSQL's recovery brings
 * back to its last commit. A transaction that was open then is refused from its next statement on
 * (its earlier statements were never committed), so none runs half on one thread and half outside
 * any transaction on the next. An in-memory database (`memory://`) is not restarted: its data died
 * with the thread, and an empty database would pass for the real one.
 */
export type PgliteDb = Db & {
  /** The thread serving now (tests end it to check the restart). */
  readonly thread: Worker;
};

type DbThread = {
  worker: Worker;
  /** Resolves when PGlite is open on this thread; rejects when it failed to open or died first. */
  ready: Promise<void>;
  alive: boolean;
  pending: Map<number, { resolve: (rows: unknown[]) => void; reject: (e: Error) => void }>;
};

export async function openPglite(dataDir: string, opts: { threadNice?: number; onRestart?: (cause: Error) => void } = {}): Promise<PgliteDb> {
  const inMemory = dataDir.startsWith("memory://");
  if (!inMemory) mkdirSync(dataDir, { recursive: true });
  let nextId = 1;
  let closing = false;
  let dead: Error | null = null; // no thread will serve again
  const toError = (e: ThreadError) => Object.assign(new Error(e.message), e.code ? { code: e.code } : {}, e.detail ? { detail: e.detail } : {});

  const startThread = (): DbThread => {
    const worker = new Worker(new URL("./pglite-thread.ts", import.meta.url), { workerData: { dataDir, nice: opts.threadNice ?? 10 } });
    const t: DbThread = { worker, ready: Promise.resolve(), alive: true, pending: new Map() };
    let opened = false;
    t.ready = new Promise<void>((resolve, reject) => {
      worker.on("message", (m: ThreadReply) => {
        if ("ready" in m) {
          opened = true;
          if (t.pending.size === 0) worker.unref();
          return resolve();
        }
        if ("failed" in m) return reject(toError(m.failed));
        const p = settle(t, m.id);
        if ("error" in m) p?.reject(toError(m.error));
        else p?.resolve(m.rows);
      });
      const die = (err: Error) => {
        if (!t.alive) return; // "error" and then "exit"
        t.alive = false;
        reject(err);
        for (const id of [...t.pending.keys()]) settle(t, id)?.reject(err);
        if (closing) return;
        // A thread that could not open the database would fail again: no restart loop.
        if (!opened || inMemory) {
          dead ??= err;
          return;
        }
        opts.onRestart?.(err);
        current = startThread();
        current.ready.catch(() => {}); // its statements see the failure
      };
      worker.on("error", die);
      worker.on("exit", (code) => die(new Error(`the PGlite thread exited (code ${code})`)));
    });
    return t;
  };
  // The thread keeps the process alive only while a statement is waiting for it.
  const settle = (t: DbThread, id: number) => {
    const p = t.pending.get(id);
    t.pending.delete(id);
    if (t.pending.size === 0) t.worker.unref();
    return p;
  };
  let current = startThread();

  /** Posts to the thread serving now, or, inside a transaction, only to the thread it began on. */
  const post = async (m: { sql: string; params?: unknown[] } | { close: true }, txThread?: DbThread): Promise<unknown[]> => {
    for (;;) {
      if (dead) throw dead;
      const t = txThread ?? current;
      if (!t.alive) {
        if (txThread) throw new Error("the PGlite thread restarted during this transaction: it was rolled back");
        await current.ready.catch(() => {});
        continue;
      }
      await t.ready;
      if (!t.alive) continue; // died while this statement waited for it to open
      const id = nextId++;
      return new Promise((resolve, reject) => {
        t.pending.set(id, { resolve, reject });
        t.worker.ref();
        t.worker.postMessage({ id, ...m });
      });
    }
  };
  let txDone: Promise<void> | null = null;
  const db: PgliteDb = {
    kind: "pglite",
    get thread() {
      return current.worker;
    },
    async query<T extends Row>(sql: string, params?: unknown[]) {
      while (txDone) await txDone;
      return (await post({ sql, params })) as T[];
    },
    async tx(fn) {
      while (txDone) await txDone;
      let end!: () => void;
      txDone = new Promise((r) => (end = r));
      try {
        await current.ready.catch(() => {});
        const t = current;
        const inTx: Queryable = {
          async query<T extends Row>(sql: string, params?: unknown[]) {
            return (await post({ sql, params }, t)) as T[];
          },
        };
        await inTx.query("BEGIN");
        try {
          const out = await fn(inTx);
          await inTx.query("COMMIT");
          return out;
        } catch (err) {
          await inTx.query("ROLLBACK").catch(() => {});
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
      closing = true;
      const t = current;
      if (t.alive && !dead) await post({ close: true }).catch(() => {});
      await t.worker.terminate();
    },
  };
  try {
    await current.ready;
    await migrate(db);
  } catch (err) {
    closing = true;
    await current.worker.terminate();
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
