/**
 * PGlite on its own thread (store/db.ts, store/pglite-thread.ts): what the rest of the gateway relies
 * on from a Db — errors with PostgreSQL's codes, transactions that other statements cannot see into
 * or interleave with, rollback — and the thread's lower priority on Linux.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { after, before, it } from "node:test";
import { openPglite, type Db } from "../src/store/db.ts";

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
