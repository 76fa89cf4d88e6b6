/**
 * `npm start` run a second time while the first devnet is up: it must refuse, say what runs and
 * what to do, and leave the first devnet (its data, logs and devnet.json) untouched. Before this,
 * the second run's default --fresh wiped the running devnet's databases and logs and overwrote the
 * devnet.json its users read.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { checkNotRunning, lockPath, readManifest } from "@tollgate/devnet";
import { REPO_ROOT, waitFor } from "./helpers.ts";

type Run = { proc: ChildProcess; out: () => string; exited: Promise<number | null> };
const procs: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), "tollgate-e2e-twice-"));

function cli(args: string[]): Run {
  const proc = spawn(process.execPath, [join(REPO_ROOT, "devnet/src/cli.ts"), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, DATABASE_URL: "", REDIS_URL: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  procs.push(proc);
  let out = "";
  proc.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  proc.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return { proc, out: () => out, exited };
}

after(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

describe("npm start twice", () => {
  it("the second run refuses, names the running devnet and what to do, and leaves the first one working", async () => {
    const data = join(dir, "data");
    const manifestPath = join(dir, "devnet.json");
    // A port base of our own, so the run beside it below finds every one of its ports taken.
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    const first = cli(["--data-dir", data, "--manifest", manifestPath, "--port-base", String(base), "--no-web", "--no-indexer"]);
    await waitFor(() => {
      if (first.proc.exitCode !== null) throw new Error(`npm start exited ${first.proc.exitCode}:\n${first.out()}`);
      return first.out().includes("Ctrl-C stops every process");
    }, 120_000, "the first npm start to be ready");
    const m = readManifest(manifestPath);
    const manifestBefore = readFileSync(manifestPath, "utf8");
    const gatewayLog = join(m.logsDir, "gateway.log");
    assert.ok(existsSync(gatewayLog));

    // Same data directory (what a second plain `npm start` does).
    const second = cli(["--data-dir", data, "--manifest", manifestPath, "--port-base", "0", "--no-web", "--no-indexer"]);
    assert.equal(await second.exited, 2, second.out());
    assert.match(second.out(), new RegExp(`a devnet is already running from .*\\(pid ${first.proc.pid}`));
    assert.match(second.out(), /stop it first \(Ctrl-C in its terminal, or: kill \d+\)/);
    assert.match(second.out(), /npm start -- --data-dir \.data\/devnet-2 --manifest \.data\/devnet-2\.json/);

    // Another data directory, but the manifest the first one writes.
    const third = cli(["--data-dir", join(dir, "other"), "--manifest", manifestPath, "--port-base", "0", "--no-web", "--no-indexer"]);
    assert.equal(await third.exited, 2, third.out());
    assert.match(third.out(), /a devnet is already running with its manifest at .*devnet\.json/);

    // The first devnet is untouched: its logs, its manifest, and it still serves.
    assert.ok(existsSync(gatewayLog), "the running devnet's logs were not wiped");
    assert.equal(readFileSync(manifestPath, "utf8"), manifestBefore, "devnet.json still describes the running devnet");
    const res = await fetch(`${m.gatewayUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${m.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: m.providers[0]!.models[0], messages: [{ role: "user", content: "still there?" }], max_tokens: 5 }),
    });
    assert.equal(res.status, 200, await res.clone().text());

    // What the message suggests: another data directory and manifest. It starts beside the first,
    // on free ports, and says so in one line rather than one per port.
    const beside = cli(["--data-dir", join(dir, "beside"), "--manifest", join(dir, "beside.json"), "--port-base", String(base), "--no-web", "--no-indexer"]);
    await waitFor(() => {
      if (beside.proc.exitCode !== null) throw new Error(`the second devnet exited ${beside.proc.exitCode}:\n${beside.out()}`);
      return beside.out().includes("Ctrl-C stops every process");
    }, 120_000, "the devnet beside the first to be ready");
    assert.match(beside.out(), new RegExp(`ports ${base}, ${base + 1}, .* are busy \\(another devnet\\?\\): this one uses free ports instead`));
    assert.doesNotMatch(beside.out(), /port \d+ is busy: /);
    const m2 = readManifest(join(dir, "beside.json"));
    assert.notEqual(m2.gatewayUrl, m.gatewayUrl);
    beside.proc.kill("SIGINT");
    assert.equal(await beside.exited, 0, beside.out());

    first.proc.kill("SIGINT");
    assert.equal(await first.exited, 0, first.out());
    assert.equal(existsSync(lockPath(data)), false, "Ctrl-C releases the data directory");
  });

  it("a lock left by a devnet that died (SIGKILL) does not block the next start", () => {
    const data = join(dir, "stale");
    mkdirSync(data, { recursive: true });
    // A pid that cannot be running: above Linux's pid_max.
    writeFileSync(lockPath(data), JSON.stringify({ pid: 2 ** 22 + 1, startedAt: "2026-01-01T00:00:00Z", manifestPath: null }));
    assert.doesNotThrow(() => checkNotRunning(data, undefined));
  });
});
