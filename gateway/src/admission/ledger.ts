/**
 * The spendable balance of each customer, in USDC base units:
 *
 *   spendable = available on-chain − debt (skipped entries) − spent (committed, not yet settled) − reserved
 *
 * `reserve` is atomic (a synchronous map update in memory, a Lua script in Redis), so concurrent
 * requests can never hold more than the customer has. Commits are always ≤ their reservation (the
 * metering caps billed tokens at what was reserved). The chain follower moves `spent` into
 * `available` when a batch settles, in one atomic step per customer.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { LUA_HOLDS, type LeaseKeeper } from "./leases.ts";

export type LedgerState = { available: bigint; debt: bigint; spent: bigint; reserved: bigint; /** chain block the row reflects */ block: bigint };
export type ReserveResult = { ok: true; /** identifies this reservation at commit */ hold: string } | { ok: false; reason: "debt" | "balance"; spendable: bigint };
/** Loads a customer from one consistent database snapshot, with the follower's cursor at that moment. */
export type LedgerInit = (customer: string) => Promise<{ available: bigint; debt: bigint; spent: bigint; block: bigint }>;

export interface Ledger {
  reserve(customer: string, amount: bigint): Promise<ReserveResult>;
  /** Close a reservation: `actual` (≤ reserved) becomes unsettled spend, the rest is released. */
  commit(customer: string, reserved: bigint, actual: bigint, hold: string): Promise<void>;
  /**
   * New on-chain available balance (and debt) as of `block`; `settled` leaves unsettled spend (a
   * batch settled). Ignored when the row was loaded from a snapshot that already includes `block`.
   */
  update(customer: string, available: bigint, debt: bigint, settled: bigint, block: bigint): Promise<void>;
  state(customer: string): Promise<LedgerState | null>;
  /** The customer's row, loaded from the database first if this ledger has not seen them yet. */
  snapshot(customer: string): Promise<LedgerState>;
}

export class MemoryLedger implements Ledger {
  private rows = new Map<string, LedgerState>();
  private loading = new Map<string, Promise<LedgerState>>();
  private readonly init: LedgerInit;
  constructor(init: LedgerInit) {
    this.init = init;
  }

  private async row(customer: string): Promise<LedgerState> {
    const hit = this.rows.get(customer);
    if (hit) return hit;
    let p = this.loading.get(customer);
    if (!p) {
      p = this.init(customer).then((v) => {
        const row = { ...v, reserved: 0n };
        this.rows.set(customer, row);
        this.loading.delete(customer);
        return row;
      });
      this.loading.set(customer, p);
    }
    return p;
  }

  async reserve(customer: string, amount: bigint): Promise<ReserveResult> {
    const r = await this.row(customer);
    // From here on everything is synchronous: no other request can interleave.
    const spendable = r.available - r.debt - r.spent - r.reserved;
    if (r.debt > 0n) return { ok: false, reason: "debt", spendable };
    if (spendable < amount) return { ok: false, reason: "balance", spendable };
    r.reserved += amount;
    return { ok: true, hold: "" };
  }

  async commit(customer: string, reserved: bigint, actual: bigint, _hold: string): Promise<void> {
    const r = await this.row(customer);
    r.reserved -= reserved;
    r.spent += actual;
  }

  async update(customer: string, available: bigint, debt: bigint, settled: bigint, block: bigint): Promise<void> {
    const loading = this.loading.get(customer);
    if (loading) await loading;
    const r = this.rows.get(customer);
    if (!r) return; // loaded from the database (already updated) on first use
    if (r.block >= block) return; // the snapshot this row came from already holds this update
    r.available = available;
    r.debt = debt;
    r.spent -= settled;
    r.block = block;
  }

  async state(customer: string): Promise<LedgerState | null> {
    return this.rows.get(customer) ?? null;
  }

  async snapshot(customer: string): Promise<LedgerState> {
    return { ...(await this.row(customer)) };
  }
}

// KEYS: the customer's hash (a available, d debt, s spent, r reserved, b block), its holds (sorted
// set: hold → lease expiry) and the holds' amounts. A hold whose lease lapsed (its replica died) is
// released by the next script that touches the customer.
const RESERVE = LUA_HOLDS + `
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
local now = now_ms()
purge(KEYS[1], KEYS[2], KEYS[3], now)
local v = redis.call('HMGET', KEYS[1], 'a', 'd', 's', 'r')
local a, d, s, r = tonumber(v[1]), tonumber(v[2]), tonumber(v[3]), tonumber(v[4])
if d > 0 then return -3 end
if a - d - s - r < tonumber(ARGV[1]) then return -1 end
redis.call('HINCRBY', KEYS[1], 'r', ARGV[1])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[1])
return 1
`;
const INIT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'a', ARGV[1], 'd', ARGV[2], 's', ARGV[3], 'r', 0, 'b', ARGV[4])
return 1
`;
// A hold that already lapsed was released by purge: only the actual spend is added then.
const COMMIT = `
if redis.call('ZREM', KEYS[2], ARGV[3]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'r', -tonumber(ARGV[1]))
  redis.call('HDEL', KEYS[3], ARGV[3])
end
redis.call('HINCRBY', KEYS[1], 's', ARGV[2])
return 1
`;
const UPDATE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'b') or '-1') >= tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], 'a', ARGV[1], 'd', ARGV[2], 'b', ARGV[4])
redis.call('HINCRBY', KEYS[1], 's', -tonumber(ARGV[3]))
return 1
`;
const STATE = LUA_HOLDS + `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
purge(KEYS[1], KEYS[2], KEYS[3], now_ms())
return redis.call('HMGET', KEYS[1], 'a', 'd', 's', 'r', 'b')
`;

export class RedisLedger implements Ledger {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly init: LedgerInit;
  private readonly leases: LeaseKeeper;
  constructor(redis: Redis, prefix: string, init: LedgerInit, leases: LeaseKeeper) {
    this.redis = redis;
    this.prefix = prefix;
    this.init = init;
    this.leases = leases;
  }
  private key(customer: string) {
    return `${this.prefix}:ledger:${customer}`;
  }
  private keys(customer: string): [string, string, string] {
    const k = this.key(customer);
    return [k, `${k}:holds`, `${k}:hold-amounts`];
  }

  async reserve(customer: string, amount: bigint): Promise<ReserveResult> {
    const keys = this.keys(customer);
    const hold = randomBytes(9).toString("base64url");
    for (let attempt = 0; attempt < 2; attempt++) {
      const code = Number(await this.redis.eval(RESERVE, 3, ...keys, amount.toString(), hold, this.leases.leaseMs));
      if (code === 1) {
        this.leases.hold(keys[1], hold);
        return { ok: true, hold };
      }
      if (code === -2) {
        const v = await this.init(customer);
        await this.redis.eval(INIT, 1, this.key(customer), v.available.toString(), v.debt.toString(), v.spent.toString(), v.block.toString());
        continue;
      }
      const s = await this.state(customer);
      const spendable = s ? s.available - s.debt - s.spent - s.reserved : 0n;
      return { ok: false, reason: code === -3 ? "debt" : "balance", spendable };
    }
    return { ok: false, reason: "balance", spendable: 0n };
  }

  async commit(customer: string, reserved: bigint, actual: bigint, hold: string): Promise<void> {
    const keys = this.keys(customer);
    this.leases.release(keys[1], hold);
    await this.redis.eval(COMMIT, 3, ...keys, reserved.toString(), actual.toString(), hold);
  }

  async update(customer: string, available: bigint, debt: bigint, settled: bigint, block: bigint): Promise<void> {
    await this.redis.eval(UPDATE, 1, this.key(customer), available.toString(), debt.toString(), settled.toString(), block.toString());
  }

  async state(customer: string): Promise<LedgerState | null> {
    const v = (await this.redis.eval(STATE, 3, ...this.keys(customer))) as (string | null)[] | null;
    if (!v || v[0] === null) return null;
    return { available: BigInt(v[0]!), debt: BigInt(v[1]!), spent: BigInt(v[2]!), reserved: BigInt(v[3]!), block: BigInt(v[4] ?? "-1") };
  }

  async snapshot(customer: string): Promise<LedgerState> {
    const hit = await this.state(customer);
    if (hit) return hit;
    const v = await this.init(customer);
    await this.redis.eval(INIT, 1, this.key(customer), v.available.toString(), v.debt.toString(), v.spent.toString(), v.block.toString());
    return (await this.state(customer))!;
  }
}
