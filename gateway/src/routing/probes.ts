/**
 * Synthetic probes: a known tiny prompt to every live worker at a fixed interval, counted in the
 * provider's SLIs like real traffic, so a provider with no customers still has a measured availability.
 */
import { request } from "undici";
import type { Ctx } from "../context.ts";

export const PROBE_PROMPT = "Reply with one word: ping";

export class Prober {
  private readonly ctx: Ctx;
  private timer: NodeJS.Timeout | null = null;
  constructor(ctx: Ctx) {
    this.ctx = ctx;
  }
  start(): void {
    if (this.ctx.config.probeIntervalMs <= 0) return;
    this.timer = setInterval(() => void this.probeAll(), this.ctx.config.probeIntervalMs);
    this.timer.unref();
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
  async probeAll(): Promise<void> {
    const now = Date.now();
    await Promise.all(
      this.ctx.registry
        .all()
        .filter((w) => this.ctx.registry.alive(w, now))
        .map(async (w) => {
          const model = w.models[0];
          if (!model) return;
          const t0 = performance.now();
          try {
            const res = await request(`${w.endpoint}/v1/chat/completions`, {
              method: "POST",
              dispatcher: this.ctx.dispatcher,
              headers: { authorization: `Bearer ${w.token}`, "content-type": "application/json", "x-request-id": `probe-${now}` },
              body: JSON.stringify({ model, messages: [{ role: "user", content: PROBE_PROMPT }], max_tokens: 1 }),
              headersTimeout: 30_000,
              bodyTimeout: 30_000,
            });
            await res.body.dump();
            const ms = performance.now() - t0;
            const ok = res.statusCode === 200;
            this.ctx.sli.record(w.provider, { ok: res.statusCode < 500, status: res.statusCode, ...(ok && { ttftMs: ms, totalMs: ms }) });
            this.ctx.metrics.probes.inc({ outcome: ok ? "ok" : String(res.statusCode) });
            if (res.statusCode >= 500) this.ctx.registry.recordFailure(w);
          } catch {
            this.ctx.sli.record(w.provider, { ok: false, status: 0 });
            this.ctx.metrics.probes.inc({ outcome: "error" });
            this.ctx.registry.recordFailure(w);
          }
        }),
    );
  }
}
