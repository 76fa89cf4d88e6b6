/**
 * One shared tick drives every open stream. A timer per token (or per stream) would cost a timer
 * callback per token; one interval walking the active set costs one callback per tick, and each
 * stream writes all the tokens that fell due since the last tick in a single socket write.
 */

export interface PacedJob {
  /** Earliest time (performance.now() ms) at which step() has anything to do. */
  wakeAt: number;
  /** Does the work due at `now`; returns true when the job is finished. */
  step(now: number): boolean;
}

export class Pacer {
  private readonly jobs = new Set<PacedJob>();
  private timer: NodeJS.Timeout | null = null;
  private readonly tickMs: number;

  constructor(tickMs: number) {
    this.tickMs = tickMs;
  }

  get size(): number {
    return this.jobs.size;
  }

  add(job: PacedJob): void {
    this.jobs.add(job);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.tickMs);
      // The HTTP server keeps the process alive; the tick alone must not.
      this.timer.unref();
    }
  }

  remove(job: PacedJob): void {
    this.jobs.delete(job);
    this.stopIfIdle();
  }

  stop(): void {
    this.jobs.clear();
    this.stopIfIdle();
  }

  private tick(): void {
    const now = performance.now();
    for (const job of this.jobs) {
      if (now < job.wakeAt) continue;
      let done: boolean;
      try {
        done = job.step(now);
      } catch {
        done = true; // a broken job must not stop the others
      }
      if (done) this.jobs.delete(job);
    }
    this.stopIfIdle();
  }

  private stopIfIdle(): void {
    if (this.jobs.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}
