/**
 * Choosing a worker: among eligible ones (model, price within the customer's cap, provider active,
 * alive, not draining, not cooling down, below its concurrency), the cheapest price level is
 * preferred, then power of two choices on TTFT EWMA × load, penalised by token-count drift.
 */
import type { WorkerEntry, WorkerRegistry } from "./registry.ts";
import type { ModelPrice, ProviderReads } from "./chain-reads.ts";

export type Candidate = { w: WorkerEntry; price: ModelPrice };

export type PriceCap = { prompt?: bigint; completion?: bigint };

/** Why a worker cannot take a request for `model` right now (null: it can). */
export type Ineligible =
  | "model not served by this worker"
  | "draining"
  | "stale heartbeat"
  | "cooling down"
  | "at its concurrency limit"
  | "upstream down"
  | "provider state not read yet"
  | "provider inactive (unstaked, jailed or unregistered)"
  | "model not priced on-chain"
  | "price above the customer's cap";

/** Why `w` cannot take the request, or the price it would be served at (one pass, on the hot path). */
function assess(w: WorkerEntry, registry: WorkerRegistry, reads: ProviderReads, model: string, cap: PriceCap, now: number): Ineligible | ModelPrice {
  if (!w.models.includes(model)) return "model not served by this worker";
  if (w.draining) return "draining";
  if (!registry.alive(w, now)) return "stale heartbeat";
  if (w.cooldownUntil > now) return "cooling down";
  if (w.inFlight >= w.maxConcurrency) return "at its concurrency limit";
  if (w.health && !w.health.upstreamOk) return "upstream down";
  const active = reads.cachedActive(w.provider);
  if (active === undefined) return "provider state not read yet";
  if (!active) return "provider inactive (unstaked, jailed or unregistered)";
  const price = reads.cachedPrice(w.provider, model);
  if (!price) return "provider state not read yet";
  if (!price.served) return "model not priced on-chain";
  if ((cap.prompt !== undefined && price.promptPrice > cap.prompt) || (cap.completion !== undefined && price.completionPrice > cap.completion)) return "price above the customer's cap";
  return price;
}

export function ineligibility(w: WorkerEntry, registry: WorkerRegistry, reads: ProviderReads, model: string, cap: PriceCap, now = Date.now()): Ineligible | null {
  const a = assess(w, registry, reads, model, cap, now);
  return typeof a === "string" ? a : null;
}

/** Workers listed one by one in the debug line when none is eligible; beyond it, counts only. */
const EXPLAIN_MAX_WORKERS = 20;

export function eligible(registry: WorkerRegistry, reads: ProviderReads, model: string, cap: PriceCap, now = Date.now()): Candidate[] {
  const out: Candidate[] = [];
  for (const w of registry.all()) {
    const a = assess(w, registry, reads, model, cap, now);
    if (typeof a !== "string") out.push({ w, price: a });
  }
  if (out.length === 0 && registry.log?.isLevelEnabled("debug")) explainNone(registry, reads, model, cap, now);
  return out;
}

/** The debug line behind a 503: each worker and why it was passed over, so a flake explains itself. */
function explainNone(registry: WorkerRegistry, reads: ProviderReads, model: string, cap: PriceCap, now: number): void {
  const reasons: Record<string, number> = {};
  const workers: Record<string, unknown>[] = [];
  for (const w of registry.all()) {
    const reason = ineligibility(w, registry, reads, model, cap, now)!;
    reasons[reason] = (reasons[reason] ?? 0) + 1;
    if (workers.length < EXPLAIN_MAX_WORKERS) workers.push({ workerId: w.id, provider: w.provider, reason, heartbeatAgeMs: now - w.lastSeenMs, ageLessOwnStallsMs: registry.heartbeatAgeMs(w, now) });
  }
  registry.log!.debug({ model, livenessWindowMs: registry.livenessWindowMs, reasons, workers }, "no eligible worker");
}

/**
 * Fetches the chain state of providers whose live workers serve `model` but are not cached yet (a
 * replica that just started, or a worker another replica registered a moment ago), or cached as
 * inactive / not served longer than the TTL ago (a missed event), so such a request waits one RPC
 * round trip instead of getting 503. Returns whether anything was read; a failed read leaves the
 * cache as it was (the worker stays unroutable).
 */
export async function warmMissingReads(registry: WorkerRegistry, reads: ProviderReads, model: string, now = Date.now()): Promise<boolean> {
  const missing = registry
    .all()
    .filter((w) => w.models.includes(model) && registry.alive(w, now))
    .filter((w) => reads.worthReading(w.provider, model, now));
  if (missing.length === 0) return false;
  const providers = [...new Set(missing.map((w) => w.provider))];
  await Promise.all(providers.map((p) => Promise.all([reads.isActive(p, true), reads.price(p, model, true)]).catch(() => {})));
  return true;
}

/** Every model some worker serves right now (for /v1/models and 404 vs 503). */
export function servedModels(registry: WorkerRegistry, reads: ProviderReads, now = Date.now()): Map<string, { price: ModelPrice; owners: Set<string> }> {
  const out = new Map<string, { price: ModelPrice; owners: Set<string> }>();
  for (const w of registry.all()) {
    if (!registry.alive(w, now) || reads.cachedActive(w.provider) !== true) continue;
    for (const m of w.models) {
      const price = reads.cachedPrice(w.provider, m);
      if (!price?.served) continue;
      const hit = out.get(m);
      if (!hit) out.set(m, { price, owners: new Set([w.provider]) });
      else {
        hit.owners.add(w.provider);
        // Report the cheapest price and the largest context.
        if (price.promptPrice + price.completionPrice < hit.price.promptPrice + hit.price.completionPrice) hit.price = { ...price, contextLength: Math.max(price.contextLength, hit.price.contextLength) };
      }
    }
  }
  return out;
}

/** Any worker (alive or not) registered for this model: tells 404 from 503. */
export function modelKnown(registry: WorkerRegistry, model: string): boolean {
  return registry.knownModels.has(model);
}

function score(c: Candidate): number {
  const load = 1 + c.w.inFlight / Math.max(1, c.w.maxConcurrency);
  const health = c.w.health ? 0.5 + c.w.health.score / 2 : 1;
  return ((c.w.ttftEwmaMs + 5) * load * (1 + c.w.driftPenalty)) / health;
}

export function pick(cands: Candidate[], excludeProviders: Set<string>, excludeWorkers: Set<string>): Candidate | null {
  let pool = cands.filter((c) => !excludeWorkers.has(c.w.id) && !excludeProviders.has(c.w.provider));
  if (pool.length === 0) pool = cands.filter((c) => !excludeWorkers.has(c.w.id));
  if (pool.length === 0) return null;
  // Cheaper preferred: only the cheapest price level competes.
  const cost = (c: Candidate) => c.price.promptPrice + c.price.completionPrice;
  const min = pool.reduce((m, c) => (cost(c) < m ? cost(c) : m), cost(pool[0]!));
  pool = pool.filter((c) => cost(c) === min);
  if (pool.length === 1) return pool[0]!;
  const a = pool[Math.floor(Math.random() * pool.length)]!;
  let b = pool[Math.floor(Math.random() * pool.length)]!;
  if (a === b) b = pool[(pool.indexOf(a) + 1) % pool.length]!;
  return score(a) <= score(b) ? a : b;
}
