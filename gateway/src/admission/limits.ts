/**
 * Rate limits per account: requests and tokens per minute (fixed one-minute windows) and concurrent
 * requests. In memory for one replica, in Redis (one Lua script, atomic) when replicas share them.
 */
import type { Redis } from "ioredis";
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

// KEYS: requests window, tokens window, concurrency. ARGV: rpm, tpm, conc cap, tokens.
const ACQUIRE = `
local c = tonumber(redis.call('GET', KEYS[3]) or '0')
if c >= tonumber(ARGV[3]) then return 1 end
local r = tonumber(redis.call('GET', KEYS[1]) or '0')
if r + 1 > tonumber(ARGV[1]) then return 2 end
local t = tonumber(redis.call('GET', KEYS[2]) or '0')
if t + tonumber(ARGV[4]) > tonumber(ARGV[2]) then return 3 end
redis.call('INCR', KEYS[1]); redis.call('EXPIRE', KEYS[1], 120)
redis.call('INCRBY', KEYS[2], ARGV[4]); redis.call('EXPIRE', KEYS[2], 120)
redis.call('INCR', KEYS[3]); redis.call('EXPIRE', KEYS[3], 3600)
return 0
`;
const RELEASE = `local n = redis.call('DECR', KEYS[1]) if n <= 0 then redis.call('DEL', KEYS[1]) end return n`;

export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis;
  private readonly prefix: string;
  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
  }

  async acquire(account: string, tier: Tier, tokens: number): Promise<LimitResult> {
    const m = minute();
    const k = `${this.prefix}:rl:{${account}}`;
    const keys = [`${k}:r:${m}`, `${k}:t:${m}`, `${k}:c`];
    const code = Number(await this.redis.eval(ACQUIRE, 3, ...keys, tier.requestsPerMinute, tier.tokensPerMinute, tier.concurrentRequests, tokens));
    if (code === 1) return refusal("concurrency_limit", tier);
    if (code === 2) return refusal("requests_per_minute", tier);
    if (code === 3) return refusal("tokens_per_minute", tier);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.redis.eval(RELEASE, 1, keys[2]!).catch(() => {});
      },
    };
  }
}
