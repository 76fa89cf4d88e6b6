/**
 * Rate limits per account: requests and tokens per minute (fixed one-minute windows) and concurrent
 * requests. In memory for one replica, in Redis (one Lua script, atomic) when replicas share them.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { LUA_HOLDS, type LeaseKeeper } from "./leases.ts";
import type { Tier } from "./tiers.ts";

export type LimitResult = { ok: true; release: () => void } | { ok: false; code: string; message: string; retryAfterSec: number };

export interface RateLimiter {
  acquire(account: string, tier: Tier, tokens: number): Promise<LimitResult>;
}

const minute = () => Math.floor(Date.now() / 60_000);
const untilNextMinute = () => (60_000 - (Date.now() % 60_000)) / 1000;

type Limit = "concurrency_limit" | "requests_per_minute" | "tokens_per_minute";

/** The refusal for a limit, the same whichever limiter found it. */
function refusal(limit: Limit, tier: Tier): LimitResult {
  switch (limit) {
    case "concurrency_limit":
      return { ok: false, code: limit, message: `at most ${tier.concurrentRequests} concurrent requests on the ${tier.name} tier`, retryAfterSec: 1 };
    case "requests_per_minute":
      return { ok: false, code: limit, message: `at most ${tier.requestsPerMinute} requests per minute on the ${tier.name} tier`, retryAfterSec: untilNextMinute() };
    case "tokens_per_minute":
      return { ok: false, code: limit, message: `at most ${tier.tokensPerMinute} tokens per minute on the ${tier.name} tier`, retryAfterSec: untilNextMinute() };
  }
}

export class MemoryRateLimiter implements RateLimiter {
  private windows = new Map<string, { minute: number; requests: number; tokens: number }>();
  private concurrent = new Map<string, number>();

  async acquire(account: string, tier: Tier, tokens: number): Promise<LimitResult> {
    const m = minute();
    let w = this.windows.get(account);
    if (!w || w.minute !== m) {
      w = { minute: m, requests: 0, tokens: 0 };
      this.windows.set(account, w);
    }
    const c = this.concurrent.get(account) ?? 0;
    if (c >= tier.concurrentRequests) return refusal("concurrency_limit", tier);
    if (w.requests + 1 > tier.requestsPerMinute) return refusal("requests_per_minute", tier);
    if (w.tokens + tokens > tier.tokensPerMinute) return refusal("tokens_per_minute", tier);
    w.requests++;
    w.tokens += tokens;
    this.concurrent.set(account, c + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        const n = (this.concurrent.get(account) ?? 1) - 1;
        if (n <= 0) this.concurrent.delete(account);
        else this.concurrent.set(account, n);
      },
    };
  }
}

// KEYS: requests window, tokens window, concurrency slots (sorted set: slot → lease expiry).
// ARGV: rpm, tpm, conc cap, tokens, slot id, lease ms. Slots of a crashed replica lapse with their lease.
const ACQUIRE = LUA_HOLDS + `
local now = now_ms()
purge(nil, KEYS[3], nil, now)
local c = redis.call('ZCARD', KEYS[3])
if c >= tonumber(ARGV[3]) then return 1 end
local r = tonumber(redis.call('GET', KEYS[1]) or '0')
if r + 1 > tonumber(ARGV[1]) then return 2 end
local t = tonumber(redis.call('GET', KEYS[2]) or '0')
if t + tonumber(ARGV[4]) > tonumber(ARGV[2]) then return 3 end
redis.call('INCR', KEYS[1]); redis.call('EXPIRE', KEYS[1], 120)
redis.call('INCRBY', KEYS[2], ARGV[4]); redis.call('EXPIRE', KEYS[2], 120)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[6]), ARGV[5])
return 0
`;

export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly leases: LeaseKeeper;
  constructor(redis: Redis, prefix: string, leases: LeaseKeeper) {
    this.redis = redis;
    this.prefix = prefix;
    this.leases = leases;
  }

  async acquire(account: string, tier: Tier, tokens: number): Promise<LimitResult> {
    const m = minute();
    const k = `${this.prefix}:rl:{${account}}`;
    const keys = [`${k}:r:${m}`, `${k}:t:${m}`, `${k}:slots`] as const;
    const slot = randomBytes(9).toString("base64url");
    const code = Number(await this.redis.eval(ACQUIRE, 3, ...keys, tier.requestsPerMinute, tier.tokensPerMinute, tier.concurrentRequests, tokens, slot, this.leases.leaseMs));
    if (code === 1) return refusal("concurrency_limit", tier);
    if (code === 2) return refusal("requests_per_minute", tier);
    if (code === 3) return refusal("tokens_per_minute", tier);
    this.leases.hold(keys[2], slot);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.leases.release(keys[2], slot);
        this.redis.zrem(keys[2], slot).catch(() => {});
      },
    };
  }
}
