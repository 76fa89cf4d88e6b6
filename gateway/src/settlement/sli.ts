/**
 * Service levels per provider, from real traffic and synthetic probes: availability over one-minute
 * intervals (an interval is good when no request failed on the provider's side), TTFT and
 * time-to-last-token percentiles, 5xx and 429 rates. Raw samples are kept per SLA window.
 */
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

export class Sli {
  private byProvider = new Map<string, ProviderStats>();
  private readonly maxSamples = 50_000;

  record(provider: string, o: Outcome): void {
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
    if (!s) return null;
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

  providers(): string[] {
    return [...this.byProvider.keys()];
  }

  /** Take and reset a provider's window (the SLA reporter calls this at the end of each window). */
  take(provider: string) {
    const snap = this.snapshot(provider);
    this.byProvider.delete(provider);
    return snap;
  }
}
