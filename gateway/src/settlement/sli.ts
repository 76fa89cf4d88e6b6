/**
 * Service levels per provider, from real traffic and synthetic probes: availability over one-minute
 * intervals (an interval is good when no request failed on the provider's side), TTFT and
 * time-to-last-token percentiles, 5xx and 429 rates. Raw samples are kept per SLA window.
 *
 * Every replica adds what it measured to the database's per-minute rows (`flush`, every few
 * seconds), so the SLA window a report covers survives restarts and counts every replica's traffic;
 * memory holds only this replica's view for /status.
 */
import type { Queryable } from "../store/db.ts";

export type Outcome = { ok: boolean; status: number; ttftMs?: number; totalMs?: number };

type ProviderStats = {
  minutes: Map<number, { good: number; bad: number }>;
  ttft: number[];
  total: number[];
  requests: number;
  s5xx: number;
  s429: number;
};

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

type MinuteDelta = { provider: string; minute: number; good: number; bad: number; s5xx: number; s429: number; ttft: number[]; total: number[] };
/** Samples kept per provider-minute and flush: enough for p99, bounded under any load. */
const MAX_MINUTE_SAMPLES = 2_000;
/**
 * Samples kept per provider-minute in the database, over all flushes and replicas: a flush rewrites
 * the row, so an unbounded array would make each flush slower as the minute fills (12 flushes a
 * minute at 1,000 requests/s would rewrite up to 60,000 numbers each). 4,000 keep p99 to 40 samples.
 */
const MAX_STORED_SAMPLES = 4_000;

export class Sli {
  private byProvider = new Map<string, ProviderStats>();
  private readonly maxSamples = 50_000;
  private pending = new Map<string, MinuteDelta>();

  private recordMinute(provider: string, o: Outcome): void {
    const minute = Math.floor(Date.now() / 60_000);
    const k = `${provider}|${minute}`;
    let d = this.pending.get(k);
    if (!d) {
      d = { provider: provider.toLowerCase(), minute, good: 0, bad: 0, s5xx: 0, s429: 0, ttft: [], total: [] };
      this.pending.set(k, d);
    }
    if (o.ok) d.good++;
    else d.bad++;
    if (o.status >= 500 || o.status === 0) d.s5xx++;
    if (o.status === 429) d.s429++;
    if (o.ttftMs !== undefined && o.ttftMs >= 0 && d.ttft.length < MAX_MINUTE_SAMPLES) d.ttft.push(Math.round(o.ttftMs * 10) / 10);
    if (o.totalMs !== undefined && d.total.length < MAX_MINUTE_SAMPLES) d.total.push(Math.round(o.totalMs * 10) / 10);
  }

  /** Add what was measured since the last flush to the database's per-minute rows. */
  async flush(db: Queryable): Promise<void> {
    const deltas = [...this.pending.values()];
    this.pending = new Map();
    for (const d of deltas) {
      await db.query(
        `INSERT INTO sli_minutes (provider, minute, good, bad, s5xx, s429, ttft, total) VALUES ($1,$2,$3,$4,$5,$6,$7::jsonb,$8::jsonb)
         ON CONFLICT (provider, minute) DO UPDATE SET good = sli_minutes.good + EXCLUDED.good, bad = sli_minutes.bad + EXCLUDED.bad,
           s5xx = sli_minutes.s5xx + EXCLUDED.s5xx, s429 = sli_minutes.s429 + EXCLUDED.s429,
           ttft = jsonb_path_query_array(sli_minutes.ttft || EXCLUDED.ttft, '$[0 to ${MAX_STORED_SAMPLES - 1}]'),
           total = jsonb_path_query_array(sli_minutes.total || EXCLUDED.total, '$[0 to ${MAX_STORED_SAMPLES - 1}]')`,
        [d.provider, d.minute, d.good, d.bad, d.s5xx, d.s429, JSON.stringify(d.ttft), JSON.stringify(d.total)],
      );
    }
  }

  /** Providers with persisted intervals between two times (unix seconds, inclusive). */
  async providersIn(db: Queryable, fromSec: number, toSec: number): Promise<string[]> {
    const rows = await db.query(`SELECT DISTINCT provider FROM sli_minutes WHERE minute >= $1 AND minute <= $2`, [Math.floor(fromSec / 60), Math.floor(toSec / 60)]);
    return rows.map((r) => String(r.provider));
  }

  /** The SLIs of one provider over a window (unix seconds, inclusive), from the persisted minutes. */
  async window(db: Queryable, provider: string, fromSec: number, toSec: number) {
    const rows = await db.query(`SELECT * FROM sli_minutes WHERE provider = $1 AND minute >= $2 AND minute <= $3`, [provider.toLowerCase(), Math.floor(fromSec / 60), Math.floor(toSec / 60)]);
    const minutes = new Map<number, { good: number; bad: number }>();
    const s: ProviderStats = { minutes, ttft: [], total: [], requests: 0, s5xx: 0, s429: 0 };
    const list = (v: unknown): number[] => (typeof v === "string" ? JSON.parse(v) : (v as number[]));
    for (const r of rows) {
      minutes.set(Number(r.minute), { good: Number(r.good), bad: Number(r.bad) });
      s.requests += Number(r.good) + Number(r.bad);
      s.s5xx += Number(r.s5xx);
      s.s429 += Number(r.s429);
      s.ttft.push(...list(r.ttft));
      s.total.push(...list(r.total));
    }
    return summarize(s);
  }

  record(provider: string, o: Outcome): void {
    this.recordMinute(provider, o);
    let s = this.byProvider.get(provider);
    if (!s) {
      s = { minutes: new Map(), ttft: [], total: [], requests: 0, s5xx: 0, s429: 0 };
      this.byProvider.set(provider, s);
    }
    const m = Math.floor(Date.now() / 60_000);
    let bucket = s.minutes.get(m);
    if (!bucket) {
      bucket = { good: 0, bad: 0 };
      s.minutes.set(m, bucket);
    }
    if (o.ok) bucket.good++;
    else bucket.bad++;
    s.requests++;
    if (o.status >= 500 || o.status === 0) s.s5xx++;
    if (o.status === 429) s.s429++;
    if (o.ttftMs !== undefined && o.ttftMs >= 0 && s.ttft.length < this.maxSamples) s.ttft.push(o.ttftMs);
    if (o.totalMs !== undefined && s.total.length < this.maxSamples) s.total.push(o.totalMs);
  }

  snapshot(provider: string) {
    const s = this.byProvider.get(provider);
    return s ? summarize(s) : null;
  }

  providers(): string[] {
    return [...this.byProvider.keys()];
  }

  /** Reset this replica's in-memory view of a provider (a window was reported). */
  take(provider: string) {
    const snap = this.snapshot(provider);
    this.byProvider.delete(provider);
    return snap;
  }
}

function summarize(s: ProviderStats) {
  const ttft = [...s.ttft].sort((a, b) => a - b);
  const total = [...s.total].sort((a, b) => a - b);
  const minutes = [...s.minutes.values()];
  const goodMinutes = minutes.filter((b) => b.bad === 0).length;
  const good = minutes.reduce((n, b) => n + b.good, 0);
  return {
    requests: s.requests,
    good,
    availability: minutes.length ? goodMinutes / minutes.length : 1,
    availabilityPpm: s.requests ? Math.floor((good / s.requests) * 1_000_000) : 1_000_000,
    ttftMs: { p50: percentile(ttft, 50), p95: percentile(ttft, 95), p99: percentile(ttft, 99) },
    lastTokenMs: { p50: percentile(total, 50), p95: percentile(total, 95), p99: percentile(total, 99) },
    rate5xx: s.requests ? s.s5xx / s.requests : 0,
    rate429: s.requests ? s.s429 / s.requests : 0,
  };
}
