/**
 * Gateway overhead benchmark: streams completions through the gateway and, in the same run,
 * directly to the same simulated worker (worker agent + simulator), then prints the TTFT the
 * gateway adds (p50, p99) and the throughput ratio (tokens/s through the gateway ÷ direct).
 *
 *   npm run bench:gateway                       # 100 concurrent streams, 6 rounds × 350 requests per path
 *   BENCH_CONCURRENCY=50 BENCH_REQUESTS=500 npm run bench:gateway
 *   BENCH_SIMULTANEOUS=1 npm run bench:gateway  # all paths at once (3 × 100 streams on the machine)
 *   BENCH_PROXY=0 npm run bench:gateway         # without the pass-through proxy baseline
 *   BENCH_OWN_HOST=0 npm run bench:gateway      # skip the second phase (gateway as on its own host)
 *   BENCH_DATABASE_URL=postgres://… npm run bench:gateway   # the gateway on PostgreSQL instead of PGlite
 *   BENCH_PROFILE=/tmp/prof npm run bench:gateway           # V8 CPU profiles of the gateway and the proxy
 *   BENCH_GATEWAY_NODE_FLAGS="--trace-gc" npm run bench:gateway   # extra node flags for the gateway process
 *   BENCH_GATEWAY_LOG=/tmp/gw.log BENCH_GATEWAY_NODE_FLAGS="--trace-gc-nvp" npm run bench:gateway  # the gateway's stdout in a file
 *   BENCH_ALLOC_PROFILE=/tmp/gw.heapprofile npm run bench:gateway  # sampled allocations of the gateway, garbage included
 *   BENCH_ALLOC_SURVIVORS=1 BENCH_ALLOC_PROFILE=…  # only what outlived a young-generation collection
 *
 * Runs a real local chain (anvil), the real contracts, a funded customer and the gateway on PGlite.
 *
 * Three paths, each with BENCH_CONCURRENCY streams: direct to the worker, through a pass-through
 * Node proxy (node:http in, one undici Agent out, no auth, admission or metering: what any Node hop
 * costs on this machine, the baseline to read the gateway against), and through the gateway. The
 * paths take turns, one round each, in an order that rotates every round, so slow drifts of the
 * machine fall on all three alike and the machine carries the issue's 100 streams, not 300.
 *
 * Everything shares this machine's 2 cores, and the simulator emits every stream's tokens on one
 * decode beat (as a batched GPU engine does), so the processes wake together. Two more things keep
 * the figure about the gateway rather than about that convoy:
 *  - Each simulated user waits a random 0–BENCH_THINK_MS ms between requests. With no pause every
 *    new request would leave on the beat that ended the previous stream, phase-locking the whole
 *    run to the beat; the added TTFT then jumped between runs by a whole beat (-2 to +17 ms).
 *  - The run is measured twice: once with every process at the same priority (the last line, the
 *    issue's figure), and once with the simulated GPU host (worker agent + simulator) and the load
 *    generator at nice 10, as if the gateway had its own host, which it has in production. The
 *    second says how much of the added time is the gateway waiting for a core.
 */
import { request, Agent } from "undici";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createWriteStream, readFileSync } from "node:fs";
import { setPriority } from "node:os";
import { MODEL, freshDataDir, gatewayOptions, loginAndCreateKey, removeDir, startEnv, workerOptions } from "../test/helpers/stack.ts";
import { percentile } from "../src/settlement/sli.ts";

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 100);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 350);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const MAX_TOKENS = 64;
const THINK_MS = Number(process.env.BENCH_THINK_MS ?? 20);
const SIMULTANEOUS = process.env.BENCH_SIMULTANEOUS === "1";
const WITH_PROXY = process.env.BENCH_PROXY !== "0";
const OWN_HOST = process.env.BENCH_OWN_HOST !== "0";

const log = (s: string) => process.stdout.write(`${s}\n`);

/** Child roles: the gateway and the worker run in their own processes, as in production. */
const role = process.argv[2];
if (role === "gateway-process") {
  const opts = JSON.parse(process.env.BENCH_GATEWAY_OPTIONS!);
  const { buildGateway } = await import("../src/server.ts");
  const { createLogger } = await import("../src/shared/log.ts");
  const gw = await buildGateway({ ...opts, logger: createLogger("silent") });
  const u = await gw.listen();
  await gw.follower.syncOnce();
  // BENCH_ALLOC_PROFILE: where the gateway allocates (sampled, garbage included), written at the end.
  const allocProfile = process.env.BENCH_ALLOC_PROFILE;
  const inspector = allocProfile ? new (await import("node:inspector/promises")).Session() : null;
  if (inspector) {
    inspector.connect();
    // With BENCH_ALLOC_SURVIVORS=1 what a young-generation collection freed is left out: what remains
    // is what lived long enough to be copied or promoted, the cost of every scavenge and full collection.
    await inspector.post("HeapProfiler.startSampling", { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: process.env.BENCH_ALLOC_SURVIVORS !== "1" });
  }
  process.stdout.write(`READY ${JSON.stringify({ url: u })}\n`);
  process.on("SIGTERM", async () => {
    if (inspector) {
      const { profile } = (await inspector.post("HeapProfiler.stopSampling")) as { profile: unknown };
      (await import("node:fs")).writeFileSync(allocProfile!, JSON.stringify(profile));
    }
    await gw.close();
    process.exit(0);
  });
  await new Promise(() => {});
}
if (role === "worker-process") {
  const o = JSON.parse(process.env.BENCH_WORKER_OPTIONS!);
  const { startSimulator } = await import("@tollgate/worker/simulator");
  const { startWorker, parseModelSpecs } = await import("@tollgate/worker");
  const { createLogger } = await import("../src/shared/log.ts");
  const sim = await startSimulator({ port: 0, ttftMs: 100, ttftSigma: 0, tokensPerSecond: 50, minCompletionTokens: MAX_TOKENS, maxCompletionTokens: MAX_TOKENS, models: [{ name: MODEL, contextLength: 8192 }] });
  const w = await startWorker({ ...o, upstream: sim.url, models: parseModelSpecs(MODEL) }, { logger: createLogger("silent") });
  process.stdout.write(`READY ${JSON.stringify({ url: w.url, token: w.state().token })}\n`);
  process.on("SIGTERM", () => void w.close().then(() => sim.close()).then(() => process.exit(0)));
  await new Promise(() => {});
}

if (role === "proxy-process") {
  // The baseline to compare with: a pass-through Node proxy with the gateway's HTTP
  // stack (node:http in, one undici Agent out) and none of its work (no auth, admission, metering).
  const target = process.env.BENCH_PROXY_TARGET!;
  const { createServer } = await import("node:http");
  const upstream = new Agent({ connections: 512, keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 });
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      void request(`${target}${req.url}`, { method: "POST", dispatcher: upstream, headers: { authorization: req.headers.authorization!, "content-type": "application/json" }, body: Buffer.concat(parts) }).then(
        (up) => {
          res.writeHead(up.statusCode, { "content-type": String(up.headers["content-type"] ?? "text/event-stream") });
          up.body.on("data", (c: Buffer) => res.write(c));
          up.body.once("end", () => res.end());
        },
        () => res.writeHead(502).end(),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  process.stdout.write(`READY ${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}` })}\n`);
  process.on("SIGTERM", () => process.exit(0));
  await new Promise(() => {});
}

function spawnRole(name: string, envVar: string, value: unknown): Promise<{ child: ChildProcess; info: Record<string, string> }> {
  const flags = name !== "worker-process" && process.env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  if (name === "gateway-process" && process.env.BENCH_GATEWAY_NODE_FLAGS) flags.push(...process.env.BENCH_GATEWAY_NODE_FLAGS.split(" "));
  const child = spawn(process.execPath, [...flags, fileURLToPath(import.meta.url), name], { env: { ...process.env, [envVar]: typeof value === "string" ? value : JSON.stringify(value) }, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    let ready = false;
    // BENCH_GATEWAY_LOG: the gateway's standard output (its own log, V8's --trace-gc lines) kept in a file.
    const log = name === "gateway-process" && process.env.BENCH_GATEWAY_LOG ? createWriteStream(process.env.BENCH_GATEWAY_LOG) : null;
    child.stdout!.on("data", (c: Buffer) => {
      log?.write(c);
      if (ready) return;
      out += c.toString();
      const m = /READY (.*)\n/.exec(out);
      if (m) {
        ready = true;
        resolve({ child, info: JSON.parse(m[1]!) });
      }
    });
    child.once("exit", (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

log(`bench:gateway — ${CONCURRENCY} concurrent streams, ${REQUESTS} requests per path per round, ${ROUNDS} rounds`);
log("starting chain, contracts, gateway and a simulated worker (separate processes) …");
const env = await startEnv({ providers: 1, deposit: 1_000_000_000_000n });
const dataDir = await freshDataDir();
const gwOptions = gatewayOptions(env, {
  dataDir,
  // Production-like intervals: the tests' 200 ms heartbeat drops a worker after 600 ms of CPU
  // starvation on a busy machine, which measures the neighbours, not the proxy path.
  heartbeatIntervalMs: 10_000,
  chainPollMs: 2_000,
  ...(process.env.BENCH_DATABASE_URL ? { databaseUrl: process.env.BENCH_DATABASE_URL, databaseSchema: `bench_${process.pid}` } : {}),
  tiers: { hobby: { name: "hobby", index: 0, maxPromptTokens: 100_000, maxOutputTokens: 4_096, requestsPerMinute: 10_000_000, tokensPerMinute: 1_000_000_000, concurrentRequests: 10_000 } },
});
delete (gwOptions as { logger?: unknown }).logger;
const gwProc = await spawnRole("gateway-process", "BENCH_GATEWAY_OPTIONS", gwOptions);
const url = gwProc.info.url!;
// The simulator's URL is known only inside the worker process, which sets `upstream` itself.
const workerProc = await spawnRole("worker-process", "BENCH_WORKER_OPTIONS", workerOptions(env, url, "http://set-by-the-worker-process", 0, 0, { maxConcurrency: 10_000 }));
const worker = { endpoint: workerProc.info.url!, token: workerProc.info.token! };
const proxy = WITH_PROXY ? await spawnRole("proxy-process", "BENCH_PROXY_TARGET", worker.endpoint) : null;
const { key } = await loginAndCreateKey(url, env.customer, env.chain.chainId);
await new Promise((r) => setTimeout(r, 500)); // the gateway's first heartbeat and price cache
const agent = new Agent({ connections: CONCURRENCY * 4, keepAliveTimeout: 30_000 });
type Path = "direct" | "proxy" | "gateway";
const PATHS: Path[] = proxy ? ["direct", "proxy", "gateway"] : ["direct", "gateway"];
type Result = { ttft: number[]; tokens: number; seconds: number; errors: number; overhead: number[] };
const errorKinds = new Map<string, number>();
const countError = (what: string) => errorKinds.set(what, (errorKinds.get(what) ?? 0) + 1);

async function run(target: Path, n: number): Promise<Result> {
  const endpoint = `${target === "gateway" ? url : target === "proxy" ? proxy!.info.url : worker.endpoint}/v1/chat/completions`;
  const auth = target === "gateway" ? `Bearer ${key}` : `Bearer ${worker.token}`;
  const ttft: number[] = [];
  const overhead: number[] = [];
  let tokens = 0;
  let errors = 0;
  let next = 0;
  let t0 = performance.now();
  const one = async (i: number) => {
    if (THINK_MS > 0 && i >= 0) await new Promise((r) => setTimeout(r, Math.random() * THINK_MS));
    const start = performance.now();
    const res = await request(endpoint, {
      method: "POST",
      dispatcher: agent,
      headers: { authorization: auth, "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: `benchmark request ${i}` }], max_tokens: MAX_TOKENS, stream: true, stream_options: { include_usage: true } }),
    });
    if (i < 0) return void (await res.body.dump());
    if (res.statusCode !== 200) {
      errors++;
      countError(`${target} HTTP ${res.statusCode}`);
      await res.body.dump();
      return;
    }
    const oh = res.headers["x-tollgate-overhead-ms"];
    if (typeof oh === "string") overhead.push(Number(oh));
    // The load generator shares the machine with what it measures: it only looks at new bytes,
    // and keeps the last few KiB for the usage chunk at the end.
    let first = true;
    let tail = "";
    for await (const chunk of res.body) {
      const text = chunk.toString();
      if (first && (tail.slice(-16) + text).includes('"content"')) {
        ttft.push(performance.now() - start);
        first = false;
      }
      tail = (tail + text).slice(-4096);
    }
    const m = /"completion_tokens":(\d+)/.exec(tail);
    tokens += m ? Number(m[1]) : 0;
  };
  // One untimed request first: the path is warm when the round starts, as it is in steady use (the
  // gateway's key and tier caches would otherwise have expired while the other paths took their turn,
  // and the round's first hundred requests would all wait for the same database lookup).
  await one(-1);
  t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        try {
          await one(i);
        } catch (err) {
          errors++;
          countError(`${target} ${(err as Error).message}`);
        }
      }
    }),
  );
  return { ttft, tokens, seconds: (performance.now() - t0) / 1000, errors, overhead };
}

log("warming up …");
for (const p of PATHS) await run(p, CONCURRENCY);

/** CPU seconds (user + system) a child process has used so far, from /proc (Linux); null elsewhere. */
const cpuSeconds = (pid: number | undefined): number | null => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (100 Hz)
  } catch {
    return null;
  }
};
/**
 * The gateway's own view from its Prometheus metrics: garbage-collection time by kind (cumulative)
 * and event-loop delay (prom-client resets that histogram on every scrape).
 */
type GatewayVitals = { gc: Map<string, { count: number; sum: number }>; loopP50: number; loopP99: number; loopMax: number };
async function gatewayVitals(): Promise<GatewayVitals> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const gc = new Map<string, { count: number; sum: number }>();
  for (const m of text.matchAll(/^tollgate_gateway_nodejs_gc_duration_seconds_(sum|count)\{kind="(\w+)"\} ([\d.e+-]+)$/gm)) {
    const e = gc.get(m[2]!) ?? { count: 0, sum: 0 };
    e[m[1] as "sum" | "count"] = Number(m[3]);
    gc.set(m[2]!, e);
  }
  // monitorEventLoopDelay samples with a 10 ms timer: its figures include the 10 ms itself.
  const lag = (name: string) => Math.max(0, Number(new RegExp(`^tollgate_gateway_nodejs_eventloop_lag_${name}_seconds ([\\d.e+-]+)$`, "m").exec(text)?.[1] ?? 0) * 1000 - 10);
  return { gc, loopP50: lag("p50"), loopP99: lag("p99"), loopMax: lag("max") };
}

type Figures = { p50: number; p99: number; ratio: number };
const sorted = (r: Result) => [...r.ttft].sort((a, b) => a - b);
const rate = (r: Result) => r.tokens / r.seconds;
/** What a path adds over the direct one: TTFT p50 and p99 differences, throughput ratio. */
const added = (via: Result, direct: Result): Figures => ({
  p50: percentile(sorted(via), 50) - percentile(sorted(direct), 50),
  p99: percentile(sorted(via), 99) - percentile(sorted(direct), 99),
  ratio: rate(via) / rate(direct),
});
const show = (f: Figures) => `added ttft p50 ms: ${f.p50.toFixed(2)}, p99 ms: ${f.p99.toFixed(2)}, throughput ratio: ${f.ratio.toFixed(3)}`;

/**
 * ROUNDS rounds. By default the paths take turns inside each round, in an order that rotates every
 * round (direct, proxy, gateway; then proxy, gateway, direct; …), each with CONCURRENCY streams.
 * With BENCH_SIMULTANEOUS=1 they run at the same time instead, sharing the machine's load.
 */
async function measure(label: string): Promise<{ gateway: Figures; proxy: Figures | null }> {
  log(`${label}:`);
  const procs = { gateway: gwProc.child.pid, proxy: proxy?.child.pid, worker: workerProc.child.pid };
  const cpu = { gateway: 0, proxy: 0, worker: 0 };
  const gcDuring = new Map<string, { count: number; sum: number }>();
  const loop = { p50: [] as number[], p99: [] as number[], max: 0 };
  const acc = Object.fromEntries(PATHS.map((p) => [p, { ttft: [], tokens: 0, seconds: 0, errors: 0, overhead: [] } as Result])) as Record<Path, Result>;
  for (let round = 1; round <= ROUNDS; round++) {
    const order = PATHS.map((_, i) => PATHS[(i + round - 1) % PATHS.length]!);
    const results: [Path, Result][] = [];
    if (SIMULTANEOUS) results.push(...(await Promise.all(order.map(async (p) => [p, await run(p, REQUESTS)] as [Path, Result]))));
    else {
      for (const p of order) {
        // CPU of the path's own hop (and of the worker) while only that path runs.
        const before = { hop: cpuSeconds(p === "direct" ? undefined : procs[p]), worker: cpuSeconds(procs.worker) };
        const vitals = p === "gateway" ? await gatewayVitals() : null;
        results.push([p, await run(p, REQUESTS)]);
        if (vitals) {
          const after = await gatewayVitals();
          for (const [kind, a] of after.gc) {
            const b = vitals.gc.get(kind) ?? { count: 0, sum: 0 };
            const e = gcDuring.get(kind) ?? { count: 0, sum: 0 };
            gcDuring.set(kind, { count: e.count + a.count - b.count, sum: e.sum + a.sum - b.sum });
          }
          loop.p50.push(after.loopP50);
          loop.p99.push(after.loopP99);
          loop.max = Math.max(loop.max, after.loopMax);
        }
        if (p !== "direct" && before.hop !== null) cpu[p] += cpuSeconds(procs[p])! - before.hop;
        if (before.worker !== null) cpu.worker += cpuSeconds(procs.worker)! - before.worker;
      }
    }
    for (const [target, r] of results) {
      const a = acc[target];
      a.ttft.push(...r.ttft);
      a.tokens += r.tokens;
      a.seconds += r.seconds;
      a.errors += r.errors;
      a.overhead.push(...r.overhead);
      log(`  round ${round} ${target.padEnd(7)}: ${r.ttft.length} streams, ttft p50 ${percentile(sorted(r), 50).toFixed(1)} ms, ${rate(r).toFixed(0)} tokens/s, ${r.errors} errors`);
    }
  }
  for (const p of PATHS) log(`  ${p.padEnd(7)}: ttft p50 ${percentile(sorted(acc[p]), 50).toFixed(2)} ms, p99 ${percentile(sorted(acc[p]), 99).toFixed(2)} ms, ${rate(acc[p]).toFixed(0)} tokens/s, ${acc[p].errors} errors`);
  const so = [...acc.gateway.overhead].sort((a, b) => a - b);
  if (so.length > 0) log(`  gateway's own time before the first byte (x-tollgate-overhead-ms): p50 ${percentile(so, 50).toFixed(3)} ms, p99 ${percentile(so, 99).toFixed(3)} ms`);
  if (!SIMULTANEOUS && cpu.gateway > 0) {
    // CPU per stream barely depends on the neighbours, unlike latency on a shared machine. The worker
    // process serves every path's streams (and hosts the simulator), so its figure is per stream of any path.
    const streams = PATHS.reduce((n, p) => n + acc[p].ttft.length, 0);
    const perStream = (ms: number, n: number) => `${((ms * 1000) / n).toFixed(2)} ms`;
    log(`  CPU per stream: gateway ${perStream(cpu.gateway, acc.gateway.ttft.length)}${proxy ? `, pass-through proxy ${perStream(cpu.proxy, acc.proxy.ttft.length)}` : ""}, worker agent + simulator ${perStream(cpu.worker, streams)} (${MAX_TOKENS} tokens a stream)`);
  }
  if (gcDuring.size > 0) {
    const kinds = [...gcDuring].map(([k, v]) => `${k} ${v.count} × ${v.count ? ((v.sum * 1000) / v.count).toFixed(1) : 0} ms`).join(", ");
    log(`  gateway during its rounds: GC ${kinds}; event-loop delay p50 ${Math.max(...loop.p50).toFixed(2)} ms, p99 ${Math.max(...loop.p99).toFixed(2)} ms, max ${loop.max.toFixed(1)} ms (worst round)`);
  }
  const gateway = added(acc.gateway, acc.direct);
  const viaProxy = proxy ? added(acc.proxy, acc.direct) : null;
  if (viaProxy) {
    log(`  pass-through proxy (the floor of any Node hop here): ${show(viaProxy)}`);
    log(`  gateway minus pass-through proxy: ttft p50 ${(gateway.p50 - viaProxy.p50).toFixed(2)} ms, p99 ${(gateway.p99 - viaProxy.p99).toFixed(2)} ms`);
  }
  log(`  gateway: ${show(gateway)}`);
  return { gateway, proxy: viaProxy };
}

const shared = await measure("every process at the same priority (gateway, simulated GPU host and load generator compete for the 2 cores)");
let ownHost: { gateway: Figures } | null = null;
if (OWN_HOST) {
  // Raising a nice value needs no privilege (lowering it back would), so this phase comes second.
  setPriority(workerProc.child.pid!, 10);
  setPriority(10); // this process: the load generator (its main thread, which does the work)
  ownHost = await measure("gateway as on its own host (simulated GPU host and load generator at nice 10)");
}
if (errorKinds.size > 0) log(`errors: ${[...errorKinds].map(([k, n]) => `${k} ×${n}`).join(", ")}`);
const status = (await (await fetch(`${url}/status`)).json()) as { unbatchedReceipts: number };
log(`receipts written by the gateway: ${status.unbatchedReceipts}`);

for (const p of [workerProc.child, gwProc.child, ...(proxy ? [proxy.child] : [])]) {
  p.kill("SIGTERM");
  await new Promise((r) => p.once("exit", r));
}
await agent.close();
removeDir(dataDir);
if (process.env.BENCH_DATABASE_URL) {
  const { default: pg } = await import("pg");
  const c = new pg.Client({ connectionString: process.env.BENCH_DATABASE_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS bench_${process.pid} CASCADE`);
  await c.end();
}
await env.stop();
if (shared.proxy) log(`pass-through proxy, same priority: ${show(shared.proxy)}`);
if (ownHost) log(`gateway as on its own host: ${show(ownHost.gateway)}`);
log(show(shared.gateway));
