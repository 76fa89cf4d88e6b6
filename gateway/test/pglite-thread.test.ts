/**
 * PGlite on its own thread (store/db.ts, store/pglite-thread.ts): what the rest of the gateway relies
 * on from a Db — errors with PostgreSQL's codes, transactions that other statements cannot see into
 * or interleave with, rollback — the thread's lower priority on Linux, and what happens when the
 * thread dies.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openPglite, type Db, type PgliteDb } from "../src/store/db.ts";

let db: Db;
before(async () => {
  db = await openPglite("memory://", { threadNice: 7 });
  await db.query("CREATE TABLE t (k text PRIMARY KEY, v int NOT NULL)");
});
after(async () => db?.close());

it("errors carry PostgreSQL's message and code", async () => {
  await db.query("INSERT INTO t VALUES ('a', 1)");
  await assert.rejects(db.query("INSERT INTO t VALUES ('a', 2)"), (e: Error & { code?: string }) => e.code === "23505" && /duplicate key/.test(e.message));
});

it("a statement from outside a transaction waits for it to end, and sees all of it or none", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const tx = db.tx(async (q) => {
    await q.query("INSERT INTO t VALUES ('b', 1)");
    await gate; // the transaction is open here, with one of its two rows written
    await q.query("INSERT INTO t VALUES ('c', 1)");
  });
  await new Promise((r) => setTimeout(r, 20));
  const outside = db.query<{ n: number }>("SELECT COUNT(*)::int AS n FROM t WHERE k IN ('b', 'c')");
  let seen: number | null = null;
  void outside.then((rows) => (seen = rows[0]!.n));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(seen, null, "the outside read waits while the transaction is open");
  release();
  await tx;
  assert.equal((await outside)[0]!.n, 2);
});

it("a transaction that throws is rolled back", async () => {
  await assert.rejects(
    db.tx(async (q) => {
      await q.query("INSERT INTO t VALUES ('d', 1)");
      throw new Error("changed my mind");
    }),
    /changed my mind/,
  );
  assert.equal((await db.query("SELECT 1 FROM t WHERE k = 'd'")).length, 0);
});

it("the database thread runs at the configured nice value (Linux)", (t) => {
  if (process.platform !== "linux") return t.skip("per-thread nice values are a Linux feature");
  // /proc/<pid>/task/<tid>/stat: field 19 is the nice value (fields counted after the command name).
  const nices = readdirSync("/proc/self/task").map((tid) => Number(readFileSync(`/proc/self/task/${tid}/stat`, "utf8").split(") ")[1]!.split(" ")[16]));
  assert.ok(nices.includes(7), `thread nice values: ${nices.join(", ")}`);
  assert.ok(nices.includes(0), "the event loop's thread keeps the process's priority");
});

describe("a database thread that dies", () => {
  let dir: string;
  let disk: PgliteDb;
  const restarts: string[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "tollgate-pglite-"));
    disk = await openPglite(dir, { onRestart: (e) => restarts.push(e.message) });
    await disk.query("CREATE TABLE kv (k text PRIMARY KEY)");
    await disk.query("INSERT INTO kv VALUES ('committed')");
  });
  after(async () => {
    await disk?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("fails what it held, is replaced, and the data committed before is all there", async () => {
    const first = disk.thread;
    await first.terminate();
    assert.equal(restarts.length, 1, "the restart was reported");
    assert.notEqual(disk.thread, first);
    assert.deepEqual(await disk.query("SELECT k FROM kv ORDER BY k"), [{ k: "committed" }]);
    await disk.query("INSERT INTO kv VALUES ('after')");
    assert.equal((await disk.query("SELECT 1 FROM kv")).length, 2);
  });

  it("a transaction open when it died is refused, and none of it is applied", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const tx = disk.tx(async (q) => {
      await q.query("INSERT INTO kv VALUES ('tx-1')");
      await gate; // the thread dies here
      await q.query("INSERT INTO kv VALUES ('tx-2')");
    });
    await new Promise((r) => setTimeout(r, 50));
    await disk.thread.terminate();
    release();
    await assert.rejects(tx, /restarted during this transaction/);
    assert.deepEqual(await disk.query("SELECT k FROM kv WHERE k LIKE 'tx-%'"), []);
  });

  it("an in-memory database is not restarted: its data is gone, so statements fail instead", async () => {
    const mem = await openPglite("memory://");
    await mem.query("CREATE TABLE x (k int)");
    await mem.thread.terminate();
    await assert.rejects(mem.query("SELECT 1 FROM x"), /PGlite thread exited/);
    await mem.close();
  });
});
