/**
 * Periodic heartbeat: probes the runtime, reads GPU load, reports to the gateway. One beat at a
 * time (a slow gateway never piles beats up); failures are logged and the next beat tries again.
 */
import type { Logger } from "pino";

export type HeartbeatDeps = {
  intervalMs: () => number;
  beat: () => Promise<void>;
  log: Logger;
};

export class HeartbeatLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly deps: HeartbeatDeps;

  constructor(deps: HeartbeatDeps) {
    this.deps = deps;
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Beats now (e.g. to announce draining) and waits for it. */
  async beatNow(): Promise<void> {
    if (this.running) await this.running;
    await this.runOnce();
  }

  /** Stops beating; may be called from inside a beat (it then does not wait for itself). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running && !this.inBeat) await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.runOnce().finally(() => this.schedule());
    }, this.deps.intervalMs());
    this.timer.unref();
  }

  private inBeat = false;

  private runOnce(): Promise<void> {
    this.inBeat = true;
    const p = this.deps
      .beat()
      .catch((err: unknown) => {
        this.deps.log.warn({ err: (err as Error).message }, "heartbeat failed");
      })
      .finally(() => {
        this.inBeat = false;
      });
    const run: Promise<void> = p.finally(() => {
      if (this.running === run) this.running = null;
    });
    this.running = run;
    return run;
  }
}
