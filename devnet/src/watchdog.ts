/**
 * The devnet's dead-man switch, run as its own detached process. The devnet writes the process
 * group id of every child it starts to our stdin, one per line. If that pipe closes without a final
 * "done" line, the devnet died without stopping its children (SIGKILL, crash, closed terminal):
 * we stop every group then, so nothing it started keeps running or holding ports.
 */
import { createInterface } from "node:readline";

const groups = new Set<number>();
let done = false;

function alive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(sig: NodeJS.Signals): void {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, sig);
    } catch {
      groups.delete(pgid); // already gone
    }
  }
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const text = line.trim();
  if (text === "done") done = true;
  else if (/^-\d+$/.test(text)) groups.delete(Number(text.slice(1)));
  else if (/^\d+$/.test(text)) groups.add(Number(text));
});
lines.on("close", () => {
  if (done || groups.size === 0) process.exit(0);
  signal("SIGTERM");
  const deadline = Date.now() + 5_000;
  const timer = setInterval(() => {
    for (const g of groups) if (!alive(g)) groups.delete(g);
    if (groups.size === 0) process.exit(0);
    if (Date.now() > deadline) {
      signal("SIGKILL");
      process.exit(0);
    }
  }, 100);
});
// The devnet's Ctrl-C must not kill us before we are needed (we are detached, but be explicit).
process.on("SIGINT", () => {});
process.on("SIGHUP", () => {});
