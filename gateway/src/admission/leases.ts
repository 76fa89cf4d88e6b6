/**
 * Leases on what a request holds in Redis (its balance reservation, its daily-cap reservation, its
 * concurrency slot). Each hold is a member of a sorted set scored by its expiry (Redis clock); the
 * replica that owns a request renews its holds every quarter lease while the request lives. A
 * crashed replica stops renewing, so its holds lapse within one lease (60 s by default) and the next
 * script that touches the customer releases them.
 */
import type { Redis } from "ioredis";
import type { Logger } from "pino";

/**
 * Lua: `purge(counter, holds, amounts)` drops lapsed holds and subtracts their amounts from the
 * counter hash's field `r`; `now_ms()` is Redis's clock. Prepended to the scripts that use holds.
 */
export const LUA_HOLDS = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function purge(counter, holds, amounts, now)
  local dead = redis.call('ZRANGEBYSCORE', holds, '-inf', now)
  for _, m in ipairs(dead) do
    if amounts then
      local a = tonumber(redis.call('HGET', amounts, m) or '0')
      redis.call('HINCRBY', counter, 'r', -a)
      redis.call('HDEL', amounts, m)
    end
  end
  if #dead > 0 then redis.call('ZREMRANGEBYSCORE', holds, '-inf', now) end
end
`;

// KEYS: sorted sets; ARGV[1]: lease ms, ARGV[2..]: one member per key. XX: a lapsed hold stays gone.
const RENEW = `
local t = redis.call('TIME')
local until_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i, k in ipairs(KEYS) do redis.call('ZADD', k, 'XX', until_ms, ARGV[i + 1]) end
return #KEYS
`;

export class LeaseKeeper {
  readonly leaseMs: number;
  private readonly redis: Redis;
  private readonly log: Logger;
  private readonly live = new Map<string, { set: string; member: string }>();
  private readonly timer: NodeJS.Timeout;

  constructor(redis: Redis, leaseMs: number, log: Logger) {
    this.redis = redis;
    this.leaseMs = leaseMs;
    this.log = log;
    this.timer = setInterval(() => void this.renew(), Math.max(50, Math.floor(leaseMs / 4)));
    this.timer.unref();
  }

  hold(set: string, member: string): void {
    this.live.set(`${set} ${member}`, { set, member });
  }

  release(set: string, member: string): void {
    this.live.delete(`${set} ${member}`);
  }

  /** Extend every live hold of this replica by one lease. */
  async renew(): Promise<void> {
    const all = [...this.live.values()];
    for (let i = 0; i < all.length; i += 500) {
      const part = all.slice(i, i + 500);
      await this.redis.eval(RENEW, part.length, ...part.map((h) => h.set), this.leaseMs, ...part.map((h) => h.member)).catch((err: Error) => {
        this.log.warn({ err: { message: err.message } }, "renewing Redis leases failed; retrying next interval");
      });
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
