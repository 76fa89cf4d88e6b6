/**
 * Databases indexed before a column or table existed: on start, what is missing is filled in from
 * the stored events alone. Disputes get the deadline the contract gave them (the period in force
 * just before they opened); arrears_changes gets every stored ArrearsSet.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { openPglite } from "../src/db/db.ts";
import { SCHEMA } from "../src/db/schema.ts";
import { fillArrears, fillResolveBy } from "../src/sync/follower.ts";

test("disputes stored without resolveBy get openedAt + the period in force at their log", async () => {
  const db = await openPglite("memory://");
  for (const s of SCHEMA) await db.query(s);
  const event = (block: number, logIndex: number, name: string, args: object) =>
    db.query(`INSERT INTO events (block_number, log_index, timestamp, tx_hash, contract, name, args) VALUES ($1, $2, 0, '0x', 'Settlement', $3, $4)`, [block, logIndex, name, JSON.stringify(args)]);
  const dispute = (id: number, block: number, openedAt: number) =>
    db.query(`INSERT INTO disputes (dispute_id, block_number, timestamp, tx_hash, customer, provider, gateway_id, batch_id, entry_index, amount, reason_hash)
      VALUES ($1, $2, $3, '0x', '0xc', '0xp', 1, 1, 0, 1, '0x')`, [id, block, openedAt]);
  const WEEK = 604_800;
  await event(5, 0, "DisputeOpened", { disputeId: "1" }); // the deployment's period
  await event(6, 0, "DisputeResolutionPeriodSet", { period: 86_400 });
  await event(6, 1, "DisputeOpened", { disputeId: "2" }); // same block, after the change
  await event(7, 0, "DisputeResolutionPeriodSet", { period: 172_800 }); // later: moves nothing
  await dispute(1, 5, 1_000);
  await dispute(2, 6, 2_000);
  await fillResolveBy(db, BigInt(WEEK));
  const rows = await db.query(`SELECT dispute_id, resolve_by FROM disputes ORDER BY dispute_id`);
  assert.deepEqual(rows.map((r) => Number(r.resolve_by)), [1_000 + WEEK, 2_000 + 86_400]);
  // Filled once: a second start changes nothing.
  await fillResolveBy(db, 1n);
  assert.deepEqual((await db.query(`SELECT resolve_by FROM disputes ORDER BY dispute_id`)).map((r) => Number(r.resolve_by)), [1_000 + WEEK, 2_000 + 86_400]);
  await db.close();
});

test("a database indexed before arrears_changes existed gets its rows from the stored ArrearsSet events", async () => {
  const db = await openPglite("memory://");
  const event = (block: number, logIndex: number, contract: string, name: string, args: object) =>
    db.query(`INSERT INTO events (block_number, log_index, timestamp, tx_hash, contract, name, args) VALUES ($1, $2, 100, '0xt', $3, $4, $5)`,
      [block, logIndex, contract, name, JSON.stringify(args)]);
  const key = `0x${"11".repeat(32)}`;
  await event(5, 0, "SlaCredits", "ArrearsSet", { reportKey: key, provider: "0xp", owed: "500", customers: ["0xa", "0xb"], amounts: ["300", "200"] });
  await event(5, 1, "SlaCredits", "SlaReported", { reportKey: key });
  await event(9, 0, "SlaCredits", "ArrearsSet", { reportKey: key, provider: "0xp", owed: "0", customers: [], amounts: [] });
  await fillArrears(db);
  await fillArrears(db); // every start runs it: the rows are not copied twice
  const rows = await db.query(`SELECT block_number, report_key, provider, owed, customers, amounts FROM arrears_changes ORDER BY block_number`);
  assert.deepEqual(rows.map((r) => [Number(r.block_number), r.report_key, r.provider, String(r.owed), r.customers, r.amounts]), [
    [5, key, "0xp", "500", ["0xa", "0xb"], ["300", "200"]],
    [9, key, "0xp", "0", [], []],
  ]);
  await db.close();
});
