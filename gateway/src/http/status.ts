/** GET /status (JSON for humans and the dApp) and GET /metrics (Prometheus). */
import type { FastifyInstance } from "fastify";
import type { Ctx } from "../context.ts";
import { arrearsByProvider } from "../settlement/arrears-book.ts";

export function statusRoutes(ctx: Ctx) {
  return async (app: FastifyInstance) => {
    app.get("/status", async () => {
      const now = Date.now();
      const workers = ctx.registry.all();
      const batches = await ctx.db.query(`SELECT state, COUNT(*) AS n, MAX(id) AS last FROM batches GROUP BY state`);
      const unbatched = await ctx.db.query(`SELECT COUNT(*) AS n FROM receipts WHERE batch_id IS NULL AND status <> 3`);
      const providers = [...new Set(workers.map((w) => w.provider))];
      const arrears = await arrearsByProvider(ctx.db);
      return {
        status: "ok",
        uptimeSec: Math.round((now - ctx.startedAt) / 1000),
        gatewayId: ctx.config.gatewayId,
        signer: ctx.signer.address,
        chainId: ctx.config.chainId,
        leader: ctx.isLeader(),
        workers: workers.map((w) => ({
          id: w.id,
          provider: w.provider,
          models: w.models,
          alive: ctx.registry.alive(w, now),
          draining: w.draining,
          inFlight: w.inFlight,
          maxConcurrency: w.maxConcurrency,
          ttftEwmaMs: Math.round(w.ttftEwmaMs),
          coolingDown: w.cooldownUntil > now,
        })),
        providers: providers.map((p) => ({ provider: p, sli: ctx.sli.snapshot(p) })),
        batches: Object.fromEntries(batches.map((b) => [String(b.state), { count: Number(b.n), last: String(b.last) }])),
        unbatchedReceipts: Number(unbatched[0]?.n ?? 0),
        // SLA credit this gateway's reports still owe customers (USDC base units), collected once the provider has stake.
        slaArrears: arrears.map((a) => ({ provider: a.provider, owed: a.owed.toString(), reports: a.reports })),
      };
    });
    app.get("/metrics", async (_req, reply) => {
      const now = Date.now();
      const workers = ctx.registry.all();
      ctx.metrics.workers.set({ state: "alive" }, workers.filter((w) => ctx.registry.alive(w, now)).length);
      ctx.metrics.workers.set({ state: "registered" }, workers.length);
      reply.header("content-type", ctx.metrics.registry.contentType);
      return ctx.metrics.registry.metrics();
    });
  };
}
