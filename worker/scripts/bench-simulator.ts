/**
 * Benchmark of the simulator: opens N concurrent streams against a simulator in a child process and
 * prints achieved tokens/s, the simulator's CPU time and memory, and client-side TTFT. The client
 * runs in this process so its parsing cost is not charged to the simulator.
 *
 *   node scripts/bench-simulator.ts [--streams 2000] [--tokens 200] [--tps 50] [--ttft-ms 200]
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const { values } = parseArgs({
  options: {
    streams: { type: "string", default: "2000" },
    tokens: { type: "string", default: "200" },
    tps: { type: "string", default: "50" },
    "ttft-ms": { type: "string", default: "200" },
  },
});
const streams = Number(values.streams);
const tokens = Number(values.tokens);
const tps = Number(values.tps);
const ttftMs = Number(values["ttft-ms"]);
const CLK_TCK = 100; // Linux USER_HZ

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime + stime
}
function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

const cli = fileURLToPath(new URL("../src/simulator/cli.ts", import.meta.url));
const child = spawn(process.execPath, [cli, "--port", "0", "--tps", String(tps), "--ttft-ms", String(ttftMs), "--ttft-sigma", "0.2"], {
  stdio: ["ignore", "pipe", "inherit"],
});
const url: string = await new Promise((resolve, reject) => {
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    const m = /listening on (http:\/\/\S+)/.exec(out);
    if (m) resolve(m[1]!);
  });
  child.once("exit", () => reject(new Error("simulator exited")));
});
const target = new URL(url + "/chat/completions");
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
const body = (i: number) =>
  JSON.stringify({
    model: "sim-llama-3.1-8b-instruct",
    messages: [{ role: "user", content: `benchmark prompt ${i}` }],
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: tokens,
    ignore_eos: true,
  });

type Result = { ttft: number; completionTokens: number; ok: boolean };
function one(i: number): Promise<Result> {
  return new Promise((resolve) => {
    const started = performance.now();
    let ttft = -1;
    let tail = "";
    const req = request(target, { method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        if (ttft < 0) ttft = performance.now() - started;
        tail = (tail + d).slice(-2048);
      });
      res.on("end", () => {
        const m = /"completion_tokens":(\d+)/.exec(tail);
        resolve({ ttft, completionTokens: m ? Number(m[1]) : 0, ok: tail.endsWith("data: [DONE]\n\n") });
      });
      res.on("error", () => resolve({ ttft, completionTokens: 0, ok: false }));
    });
    req.on("error", () => resolve({ ttft, completionTokens: 0, ok: false }));
    req.end(body(i));
  });
}

process.stdout.write(`bench: ${streams} concurrent streams x ${tokens} tokens at ${tps} tok/s, TTFT ~${ttftMs} ms\n`);
const cpu0 = cpuSeconds(child.pid!);
const clientCpu0 = process.cpuUsage();
const t0 = performance.now();
// Once a second: tokens the simulator sent in that second and its CPU use (progress + steady state).
const statsUrl = url.replace(/\/v1$/, "/simulator/stats");
const samples: { tokensPerSec: number; cpuPct: number }[] = [];
let lastTokens = 0;
let lastCpu = cpu0;
let lastAt = performance.now();
const progress = setInterval(async () => {
  try {
    const stats = (await (await fetch(statsUrl)).json()) as { tokensSent: number; activeJobs: number };
    const cpu = cpuSeconds(child.pid!);
    const now = performance.now();
    const secs = (now - lastAt) / 1000; // this process is busy too: intervals are not exactly 1 s
    const sample = { tokensPerSec: (stats.tokensSent - lastTokens) / secs, cpuPct: ((cpu - lastCpu) / secs) * 100 };
    samples.push(sample);
    lastTokens = stats.tokensSent;
    lastCpu = cpu;
    lastAt = now;
    process.stdout.write(
      `  t=${((now - t0) / 1000).toFixed(1)}s  active ${stats.activeJobs}  ${Math.round(sample.tokensPerSec)} tok/s  simulator CPU ${sample.cpuPct.toFixed(0)}%\n`,
    );
  } catch {
    /* the simulator may be busy; skip a sample */
  }
}, 1000);
const results = await Promise.all(Array.from({ length: streams }, (_, i) => one(i)));
clearInterval(progress);
// Steady state: the samples where every stream was generating (not ramping up or finishing).
const steady = samples.filter((x) => x.tokensPerSec >= 0.8 * streams * tps);
const wall = (performance.now() - t0) / 1000;
const simCpu = cpuSeconds(child.pid!) - cpu0;
const clientCpu = process.cpuUsage(clientCpu0);
const rss = peakRssMiB(child.pid!);
child.kill("SIGTERM");

const total = results.reduce((s, r) => s + r.completionTokens, 0);
const okCount = results.filter((r) => r.ok).length;
const ttfts = results.map((r) => r.ttft).filter((t) => t >= 0).sort((a, b) => a - b);
const pct = (p: number) => ttfts[Math.min(ttfts.length - 1, Math.floor((p / 100) * ttfts.length))] ?? NaN;
const ideal = tokens / tps + ttftMs / 1000;
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
process.stdout.write(
  [
    "",
    `completed streams:     ${okCount}/${streams}`,
    `tokens streamed:       ${total}`,
    `wall time:             ${wall.toFixed(2)} s (ideal ${ideal.toFixed(2)} s)`,
    `achieved tokens/s:     ${Math.round(total / wall)} (target ${streams * tps})`,
    `simulator CPU time:    ${simCpu.toFixed(2)} s = ${((simCpu / wall) * 100).toFixed(0)}% of one core`,
    `simulator CPU/token:   ${((simCpu / Math.max(1, total)) * 1e6).toFixed(2)} µs`,
    `simulator peak RSS:    ${rss.toFixed(0)} MiB`,
    `client CPU time:       ${((clientCpu.user + clientCpu.system) / 1e6).toFixed(2)} s`,
    `TTFT p50/p95/p99 (ms): ${pct(50).toFixed(0)} / ${pct(95).toFixed(0)} / ${pct(99).toFixed(0)}  (includes opening ${streams} connections at once)`,
    steady.length
      ? `steady state:          ${Math.round(avg(steady.map((x) => x.tokensPerSec)))} tok/s at ${avg(steady.map((x) => x.cpuPct)).toFixed(0)}% of one core (${steady.length} samples)`
      : "steady state:          run longer (--tokens) to get full-load one-second samples",
    "",
  ].join("\n"),
);
process.exit(okCount === streams ? 0 : 1);
