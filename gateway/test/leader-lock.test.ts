/**
 * The batch poster's leader lock on PostgreSQL: one leader per gateway schema. Replicas of one
 * gateway (same schema) elect one; gateways that share a database in schemas of their own do not
 * block each other (with one lock for the whole database, only one of them would ever post).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { openPostgres, type Db } from "../src/store/db.ts";
import { TEST_PG as PG, postgresMissing } from "./helpers/services.ts";

const LOCK = 7264002;

const missing = await postgresMissing();
if (missing) console.log(`# skipping leader-lock tests: ${missing}`);

const opened: { db: Db; schema: string }[] = [];
const open = async (schema: string) => {
  const db = await openPostgres(PG, schema);
  opened.push({ db, schema });
  return db;
};

after(async () => {
  for (const { db } of opened) await db.close().catch(() => {});
  if (missing) return;
  const { default: pg } = await import("pg");
  const c = new pg.Client({ connectionString: PG });
  await c.connect();
  for (const schema of new Set(opened.map((o) => o.schema))) await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.end();
});

describe("leader lock per gateway schema", { skip: missing ?? false }, () => {
  it("two replicas of one gateway elect one leader; a gateway in another schema has its own", async () => {
    const tag = randomBytes(4).toString("hex");
    const a1 = await open(`tg_lock_a_${tag}`);
    const a2 = await open(`tg_lock_a_${tag}`);
    const b = await open(`tg_lock_b_${tag}`);
    assert.equal(await a1.tryLeaderLock(LOCK), true, "the first replica leads");
    assert.equal(await a2.tryLeaderLock(LOCK), false, "its sibling does not");
    assert.equal(await b.tryLeaderLock(LOCK), true, "another gateway's schema is not blocked");
    await a1.close();
    opened.splice(opened.findIndex((o) => o.db === a1), 1);
    // The server drops a closed session's locks asynchronously; replicas retry every second.
    let took = false;
    for (let i = 0; i < 50 && !took; i++) {
      took = await a2.tryLeaderLock(LOCK);
      if (!took) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(took, true, "the sibling takes over once the leader's session ends");
  });
});
