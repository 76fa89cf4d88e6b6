/**
 * Choosing a worker: among eligible ones (model, price within the customer's cap, provider active,
 * alive, not draining, not cooling down, below its concurrency), the cheapest price level is
 * preferred, then power of two choices on TTFT EWMA × load, penalised by token-count drift.
 */
import type { WorkerEntry, WorkerRegistry } from "./registry.ts";
import type { ModelPrice, ProviderReads } from "./chain-reads.ts";

export type Candidate = { w: WorkerEntry; price: ModelPrice };

export type PriceCap = { prompt?: bigint; completion?: bigint };

export function eligible(registry: WorkerRegistry, reads: ProviderReads, model: string, cap: PriceCap, now = Date.now()): Candidate[] {
  const out: Candidate[] = [];
  for (const w of registry.all()) {
    if (!w.models.includes(model) || !registry.alive(w, now) || w.cooldownUntil > now) continue;
    if (w.inFlight >= w.maxConcurrency) continue;
    if (w.health && !w.health.upstreamOk) continue;
    if (reads.cachedActive(w.provider) !== true) continue;
    const price = reads.cachedPrice(w.provider, model);
    if (!price || !price.served) continue;
    if (cap.prompt !== undefined && price.promptPrice > cap.prompt) continue;
    if (cap.completion !== undefined && price.completionPrice > cap.completion) continue;
    out.push({ w, price });
  }
  return out;
}

/**
 * Fetches the chain state of providers whose live workers serve `model` but are not cached yet (a
 * replica that just started, or a worker another replica registered a moment ago), so the first
 * request after a restart waits one RPC round trip instead of getting 503. Returns whether anything
 * was missing; a failed read leaves the cache empty (the worker stays unroutable).
 */
export async function warmMissingReads(registry: WorkerRegistry, reads: ProviderReads, model: string, now = Date.now()): Promise<boolean> {
  const missing = registry
    .all()
    .filter((w) => w.models.includes(model) && registry.alive(w, now))
    .filter((w) => reads.cachedActive(w.provider) === undefined || reads.cachedPrice(w.provider, model) === undefined);
  if (missing.length === 0) return false;
  await Promise.all(missing.map((w) => Promise.all([reads.isActive(w.provider), reads.price(w.provider, model)]).catch(() => {})));
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
