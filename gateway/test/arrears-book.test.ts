/**
 * The book of open SLA arrears keeps each report's latest lists whatever order events are read in,
 * follows only reports of ours, forgets a report paid off; and the collector's two small rules.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Address, Hex } from "viem";
import { openPglite, type Db } from "../src/store/db.ts";
import { applyArrearsEvent, arrearsByProvider, openReports, type ArrearsEvent } from "../src/settlement/arrears-book.ts";
import { collectableStake, nextBackoffMs } from "../src/settlement/arrears-collector.ts";
import { freshDataDir, removeDir } from "./helpers/stack.ts";

const PROVIDER: Address = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const CUSTOMERS: Address[] = ["0x90F79bf6EB2c4f870365E785982E1f101E93b906", "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"];
const key = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;
const event = (reportKey: Hex, amounts: bigint[], block: bigint, logIndex = 0): ArrearsEvent => ({
  reportKey,
  provider: PROVIDER,
  owed: amounts.reduce((a, b) => a + b, 0n),
  customers: amounts.length ? CUSTOMERS.slice(0, amounts.length) : [],
  amounts,
  block,
  logIndex,
});

let db: Db;
let dir: string;
before(async () => {
  dir = await freshDataDir();
  db = await openPglite(dir);
});
after(async () => {
  await db?.close();
  removeDir(dir);
});

describe("the arrears book", () => {
  it("keeps the latest lists of a report of ours, even when an older event is read after a newer one", async () => {
    await applyArrearsEvent(db, event(key(1), [30n, 20n], 10n, 2), true);
    await applyArrearsEvent(db, event(key(1), [12n, 8n], 15n), false); // a collection, applied from its receipt
    await applyArrearsEvent(db, event(key(1), [30n, 20n], 10n, 2), true); // the follower reads the report's range late
    const [r] = await openReports(db, PROVIDER);
    assert.deepEqual({ owed: r!.owed, customers: r!.customers, amounts: r!.amounts }, { owed: 20n, customers: CUSTOMERS, amounts: [12n, 8n] });
  });

  it("ignores the arrears of reports that are not ours, and lists a provider's reports oldest first", async () => {
    await applyArrearsEvent(db, event(key(2), [5n], 20n), false);
    await applyArrearsEvent(db, event(key(3), [7n], 21n), true);
    assert.deepEqual((await openReports(db, PROVIDER)).map((r) => r.reportKey), [key(1), key(3)]);
    assert.deepEqual(await arrearsByProvider(db), [{ provider: PROVIDER, owed: 27n, reports: 2 }]);
  });

  it("forgets a report once it owes nothing", async () => {
    await applyArrearsEvent(db, event(key(1), [], 30n), false);
    await applyArrearsEvent(db, event(key(3), [], 31n), false);
    assert.deepEqual(await arrearsByProvider(db), []);
  });
});

describe("the collector's rules", () => {
  it("counts stake held by the arrears' own locks as collectable, not stake held by disputes", () => {
    // 30 staked, 50 locked of which 40 arrears: 10 answer for disputes, 20 can pay arrears.
    assert.equal(collectableStake(30n, 0n, 50n, 40n), 20n);
    assert.equal(collectableStake(5n, 5n, 50n, 40n), 0n, "all of it answers for disputes");
  });

  it("backs off from the poll interval, doubling, up to the slow pass", () => {
    assert.deepEqual([undefined, 100, 200, 400].map((ms) => nextBackoffMs(ms, 100, 300)), [100, 200, 300, 300]);
  });
});
