/**
 * Children of the devnet: every service runs as its own process (its real CLI), in its own process
 * group, with stdout and stderr appended to <logsDir>/<name>.log. Readiness is the service's banner
 * line appearing in its log. A watchdog process (watchdog.ts) stops every group if we die without
 * stopping them ourselves.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync, statSync } from "node:fs";
import type { Socket } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export type Child = { name: string; proc: ChildProcess; logFile: string; match: RegExpExecArray };

export type StartSpec = {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Banner that says the service is ready; its capture groups are returned. */
  ready: RegExp;
  timeoutMs?: number;
  /** Signal for a graceful stop (anvil dumps its state on SIGINT/SIGTERM). */
  stopSignal?: NodeJS.Signals;
  /** Stop order: higher tiers stop first, one tier at a time, a tier's services in parallel. */
  tier?: number;
};

export class ServiceError extends Error {}

function tail(file: string, from: number): string {
  try {
    return readFileSync(file, "utf8").slice(from).split("\n").slice(-15).join("\n");
  } catch {
    return "";
  }
}

export class Supervisor {
  private readonly children: (Child & { stopSignal: NodeJS.Signals; tier: number })[] = [];
  private readonly watchdog: ChildProcess;
  private readonly logsDir: string;

  constructor(logsDir: string) {
    this.logsDir = logsDir;
    this.watchdog = spawn(process.execPath, [fileURLToPath(new URL("./watchdog.ts", import.meta.url))], {
      stdio: ["pipe", "ignore", "ignore"],
      detached: true,
    });
    this.watchdog.unref();
    (this.watchdog.stdin as Socket).unref();
    this.watchdog.stdin!.on("error", () => {}); // the watchdog gone: nothing to tell it any more
  }

  /** Starts a service and waits for its banner; on failure the error quotes the end of its log. */
  async start(spec: StartSpec): Promise<Child> {
    const logFile = join(this.logsDir, `${spec.name}.log`);
    const fd = openSync(logFile, "a");
    const offset = statSync(logFile).size;
    let proc: ChildProcess;
    try {
      proc = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        env: { ...process.env, ...spec.env },
        stdio: ["ignore", fd, fd],
        detached: true, // own process group: Ctrl-C reaches us, and we stop the services in order
      });
    } finally {
      closeSync(fd);
    }
    const exited = new Promise<number | string>((resolve) => proc.once("exit", (code, sig) => resolve(code ?? sig ?? "?")));
    proc.once("error", () => {});
    if (proc.pid) this.watchdog.stdin!.write(`${proc.pid}\n`);
    const child = { name: spec.name, proc, logFile, stopSignal: spec.stopSignal ?? "SIGTERM", tier: spec.tier ?? 0 } as Child & { stopSignal: NodeJS.Signals; tier: number };
    this.children.push(child);

    const deadline = Date.now() + (spec.timeoutMs ?? 60_000);
    let exitCode: number | string | null = null;
    void exited.then((c) => (exitCode = c));
    for (;;) {
      const m = spec.ready.exec(readFileSync(logFile, "utf8").slice(offset));
      if (m) {
        child.match = m;
        return child;
      }
      if (exitCode !== null) throw new ServiceError(`${spec.name} exited (${exitCode}) before it was ready; end of ${logFile}:\n${tail(logFile, offset)}`);
      if (Date.now() > deadline) throw new ServiceError(`${spec.name} was not ready within ${spec.timeoutMs ?? 60_000} ms; end of ${logFile}:\n${tail(logFile, offset)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops one service: its graceful signal, then SIGKILL after `graceMs`. */
  async stopOne(child: Child, graceMs = 5_000): Promise<void> {
    const c = this.children.find((x) => x.proc === child.proc);
    const { proc } = child;
    if (proc.exitCode === null && proc.signalCode === null && proc.pid) {
      const gone = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
      const kill = (sig: NodeJS.Signals) => {
        try {
          process.kill(-proc.pid!, sig);
        } catch {
          /* already gone */
        }
      };
      kill(c?.stopSignal ?? "SIGTERM");
      const timer = setTimeout(() => kill("SIGKILL"), graceMs);
      await gone;
      clearTimeout(timer);
      kill("SIGKILL"); // anything the service left behind in its group
    }
    if (proc.pid) this.watchdog.stdin!.write(`-${proc.pid}\n`);
    const i = this.children.indexOf(c!);
    if (i >= 0) this.children.splice(i, 1);
  }

  /** Stops every service by tier, highest first (dApp, workers, simulators, gateways, chain last). */
  async stopAll(): Promise<void> {
    const tiers = [...new Set(this.children.map((c) => c.tier))].sort((a, b) => b - a);
    for (const tier of tiers) await Promise.all(this.children.filter((c) => c.tier === tier).map((c) => this.stopOne(c)));
    this.watchdog.stdin!.end("done\n");
  }
}
