/**
 * One devnet per data directory and per manifest. A second `npm start` while the first runs would
 * otherwise wipe the first one's databases and logs (`--fresh` is the default) and overwrite the
 * devnet.json its users read. `<dataDir>/devnet.lock` names the process that runs the devnet; a lock
 * whose process is gone (SIGKILL, crash) is stale and taken over.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { z } from "zod";

const lockSchema = z.object({ pid: z.number().int().positive(), startedAt: z.string(), manifestPath: z.string().nullable() });
export type DevnetLock = z.infer<typeof lockSchema>;

export class DevnetBusyError extends Error {}

export const lockPath = (dataDir: string) => join(dataDir, "devnet.lock");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // alive, another user's
  }
}

/** The lock of a devnet running from `dataDir`, or null when none runs there. */
export function runningDevnet(dataDir: string): DevnetLock | null {
  let lock: DevnetLock;
  try {
    lock = lockSchema.parse(JSON.parse(readFileSync(lockPath(dataDir), "utf8")));
  } catch {
    return null; // no lock, or not ours to read
  }
  return alive(lock.pid) ? lock : null;
}

function manifestDataDir(manifestPath: string): string | null {
  try {
    const dataDir = (JSON.parse(readFileSync(manifestPath, "utf8")) as { dataDir?: unknown }).dataDir;
    return typeof dataDir === "string" ? dataDir : null;
  } catch {
    return null;
  }
}

const rel = (p: string) => relative(process.cwd(), p) || ".";

/**
 * Refuses, saying what runs and what to do, when another devnet uses this data directory or writes
 * this manifest; otherwise claims the data directory. Call after the directory exists.
 */
export function checkNotRunning(dataDir: string, manifestPath: string | undefined): void {
  const here = runningDevnet(dataDir);
  const other = manifestPath ? manifestDataDir(manifestPath) : null;
  const there = other && other !== dataDir ? runningDevnet(other) : null;
  const busy = here ? { lock: here, dir: dataDir, what: `from ${rel(dataDir)}` } : there ? { lock: there, dir: other!, what: `with its manifest at ${rel(manifestPath!)}` } : null;
  if (!busy) return;
  const { lock } = busy;
  throw new DevnetBusyError(
    [
      `a devnet is already running ${busy.what} (pid ${lock.pid}, started ${lock.startedAt})${lock.manifestPath ? `; its URLs and API key are in ${rel(lock.manifestPath)}` : ""}.`,
      `  Use it, or stop it first (Ctrl-C in its terminal, or: kill ${lock.pid}).`,
      `  To run another one beside it (on free ports): npm start -- --data-dir .data/devnet-2 --manifest .data/devnet-2.json`,
    ].join("\n"),
  );
}

/** Marks `dataDir` as used by this process until `releaseLock`. */
export function takeLock(dataDir: string, manifestPath: string | undefined): void {
  const lock: DevnetLock = { pid: process.pid, startedAt: new Date().toISOString().replace(/\.\d+Z$/, "Z"), manifestPath: manifestPath ?? null };
  writeFileSync(lockPath(dataDir), `${JSON.stringify(lock)}\n`);
}

export function releaseLock(dataDir: string): void {
  try {
    const lock = lockSchema.parse(JSON.parse(readFileSync(lockPath(dataDir), "utf8")));
    if (lock.pid === process.pid) rmSync(lockPath(dataDir), { force: true });
  } catch {
    /* no lock, or not ours */
  }
}
