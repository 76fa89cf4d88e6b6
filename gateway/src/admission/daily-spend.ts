/**
 * Per-key daily spend caps (UTC days), seeded from the day's receipts on first use. In this
 * replica's memory, or in Redis (one Lua script, atomic, reservations leased like the ledger's) when
 * replicas share them, so a cap holds across replicas.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { Db } from "../store/db.ts";
import { big } from "../store/db.ts";
import { LUA_HOLDS, type LeaseKeeper } from "./leases.ts";

const today = () => Math.floor(Date.now() / 86_400_000);

export interface DailySpend {
  /** Hold `amount` against the key's cap for today; the hold id, or null when the cap would be passed. */
  reserve(keyId: string, cap: bigint, amount: bigint): Promise<string | null>;
  commit(keyId: string, reserved: bigint, actual: bigint, hold: string): Promise<void>;
}

/** What the key's receipts already charged today. */
async function spentToday(db: Db, keyId: string, day: number): Promise<bigint> {
  const q = await db.query(`SELECT COALESCE(SUM(charge_units), 0) AS s FROM receipts WHERE key_id = $1 AND served_at >= $2`, [keyId, day * 86_400]);
  return big(q[0]?.s);
}

export class MemoryDailySpend implements DailySpend {
  private readonly db: Db;
  private rows = new Map<string, { day: number; spent: bigint; reserved: bigint }>();
  constructor(db: Db) {
    this.db = db;
  }
  private async row(keyId: string) {
    const d = today();
    let r = this.rows.get(keyId);
    if (!r || r.day !== d) {
      const spent = await spentToday(this.db, keyId, d);
      r = this.rows.get(keyId);
      if (!r || r.day !== d) {
        r = { day: d, spent, reserved: 0n };
        this.rows.set(keyId, r);
      }
    }
    return r;
  }
  async reserve(keyId: string, cap: bigint, amount: bigint): Promise<string | null> {
    const r = await this.row(keyId);
    if (r.spent + r.reserved + amount > cap) return null;
    r.reserved += amount;
    return "";
  }
  async commit(keyId: string, reserved: bigint, actual: bigint, _hold: string): Promise<void> {
    const r = await this.row(keyId);
    r.reserved -= reserved;
    r.spent += actual;
  }
}

// KEYS: the day's hash (s spent, r reserved), its holds and their amounts.
// ARGV: cap, amount, hold, lease ms, seed (spent from receipts, used when the day's row is new).
const RESERVE = LUA_HOLDS + `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 's', ARGV[5], 'r', 0)
  redis.call('EXPIRE', KEYS[1], 172800)
end
local now = now_ms()
purge(KEYS[1], KEYS[2], KEYS[3], now)
local v = redis.call('HMGET', KEYS[1], 's', 'r')
if tonumber(v[1]) + tonumber(v[2]) + tonumber(ARGV[2]) > tonumber(ARGV[1]) then return 0 end
redis.call('HINCRBY', KEYS[1], 'r', ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[2])
redis.call('EXPIRE', KEYS[2], 172800)
redis.call('EXPIRE', KEYS[3], 172800)
return 1
`;
const COMMIT = `
if redis.call('ZREM', KEYS[2], ARGV[3]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'r', -tonumber(ARGV[1]))
  redis.call('HDEL', KEYS[3], ARGV[3])
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HINCRBY', KEYS[1], 's', ARGV[2]) end
return 1
`;

export class RedisDailySpend implements DailySpend {
  private readonly db: Db;
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly leases: LeaseKeeper;
  /** Keys whose row for today surely exists in Redis: no seed query needed. */
  private seeded = new Map<string, number>();
  constructor(db: Db, redis: Redis, prefix: string, leases: LeaseKeeper) {
    this.db = db;
    this.redis = redis;
    this.prefix = prefix;
    this.leases = leases;
  }
  private keys(keyId: string, day: number): [string, string, string] {
    const k = `${this.prefix}:daily:{${keyId}}:${day}`;
    return [k, `${k}:holds`, `${k}:hold-amounts`];
  }
  async reserve(keyId: string, cap: bigint, amount: bigint): Promise<string | null> {
    const day = today();
    const seed = this.seeded.get(keyId) === day ? 0n : await spentToday(this.db, keyId, day);
    const keys = this.keys(keyId, day);
    const hold = `${day}.${randomBytes(9).toString("base64url")}`;
    const ok = Number(await this.redis.eval(RESERVE, 3, ...keys, cap.toString(), amount.toString(), hold, this.leases.leaseMs, seed.toString()));
    this.seeded.set(keyId, day);
    if (ok !== 1) return null;
    this.leases.hold(keys[1], hold);
    return hold;
  }
  async commit(keyId: string, reserved: bigint, actual: bigint, hold: string): Promise<void> {
    const day = Number(hold.split(".")[0]); // the day the reservation was made in
    const keys = this.keys(keyId, day);
    this.leases.release(keys[1], hold);
    await this.redis.eval(COMMIT, 3, ...keys, reserved.toString(), actual.toString(), hold);
  }
}
