/**
 * The worker's own view of its health, reported in every heartbeat. The score is an exponential
 * moving average of request outcomes (1 = success, 0 = failure of the worker or its runtime), and
 * 0 while the runtime does not answer its probe. Caller mistakes (4xx) do not move it.
 */
const ALPHA = 0.2;

export type HealthSnapshot = { score: number; upstreamOk: boolean; consecutiveFailures: number };

export class HealthTracker {
  private ema = 1;
  private failures = 0;
  private upstreamOk = true;

  success(): void {
    this.ema = this.ema * (1 - ALPHA) + ALPHA;
    this.failures = 0;
  }

  failure(): void {
    this.ema = this.ema * (1 - ALPHA);
    this.failures++;
  }

  setUpstreamOk(ok: boolean): void {
    if (!ok && this.upstreamOk) this.failure();
    this.upstreamOk = ok;
  }

  snapshot(): HealthSnapshot {
    return {
      score: this.upstreamOk ? Math.round(this.ema * 1000) / 1000 : 0,
      upstreamOk: this.upstreamOk,
      consecutiveFailures: this.failures,
    };
  }
}
