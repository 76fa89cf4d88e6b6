/**
 * Gateway overhead benchmark: streams completions through the gateway and, in the same run,
 * directly to the same simulated worker (worker agent + simulator), then prints the TTFT the
 * gateway adds (p50, p99) and the throughput ratio (tokens/s through the gateway ÷ direct).
 *
 *   npm run bench:gateway                       # 100 concurrent streams, 6 rounds × 350 requests per path
 *   BENCH_CONCURRENCY=50 BENCH_REQUESTS=500 npm run bench:gateway
 *   BENCH_PROXY=0 npm run bench:gateway         # without the pass-through proxy baseline
 *   BENCH_OWN_CORE=0 npm run bench:gateway      # skip the second phase (gateway on a core of its own)
 *   BENCH_DATABASE_URL=postgres://… npm run bench:gateway   # the gateway on PostgreSQL instead of PGlite
 *   BENCH_PROFILE=/tmp/prof npm run bench:gateway           # V8 CPU profiles of the gateway and the proxy
 *   BENCH_GATEWAY_NODE_FLAGS="--trace-gc" npm run bench:gateway   # extra node flags for the gateway process
 *   BENCH_HEAP_GROWING_PERCENT=0 npm run bench:gateway  # the gateway with V8's own heap growth (default: the gateway's, 300)
 *   BENCH_GATEWAY_LOG=/tmp/gw.log BENCH_GATEWAY_NODE_FLAGS="--trace-gc-nvp" npm run bench:gateway  # the gateway's stdout in a file
 *   BENCH_ALLOC_PROFILE=/tmp/gw.heapprofile npm run bench:gateway  # sampled allocations of the gateway, garbage included
 *   BENCH_ALLOC_SURVIVORS=1 BENCH_ALLOC_PROFILE=…  # only what outlived a young-generation collection
 *   BENCH_HEAP_SNAPSHOT=/tmp/gw.heapsnapshot npm run bench:gateway  # the gateway's heap at the end
 *
 * Runs a real local chain (anvil), the real contracts, a funded customer and the gateway on PGlite.
 *
 * Three paths, each with BENCH_CONCURRENCY streams: direct to the worker, through a pass-through
 * Node proxy (node:http in, one undici Agent out, no auth, admission or metering: what any Node hop
 * costs on this machine, the baseline to read the gateway against), and through the gateway. The
 * paths take turns, one at a time, in an order that rotates every round, so slow drifts of the
 * machine fall on all three alike and the machine carries the issue's 100 streams, not 300.
 *
 * Everything shares this machine's 2 cores, and the simulator emits every stream's tokens on one
 * decode beat (as a batched GPU engine does), so the processes wake together. What keeps the figure
 * about the gateway rather than about that convoy, and what says how far to trust it:
 *  - Each simulated user waits a random 0–BENCH_THINK_MS ms between requests. With no pause every
 *    new request would leave on the beat that ended the previous stream, phase-locking the whole
 *    run to the beat; the added TTFT then jumped between runs by a whole beat (-2 to +17 ms).
 *  - The simulator reports when it accepted each request and wrote its first token (on the clock
 *    all processes share). Subtracting that from the client's TTFT leaves the time spent outside the
 *    model, in the hops in front of it: printed beside the figure, without the beat's 0–10 ms.
 *  - A 95 % interval of the added TTFT from drawing each path's turns again (bootstrap): how far the
 *    figure moves with the luck of the turns on this machine.
 *  - The run is measured twice: with every process free to run on either core (the issue's figure,
 *    the last line), and with the gateway (and the proxy) on core 1 and everything else (simulated
 *    GPU host, load generator, chain) on core 0, as if the gateway had its own host, as it has in
 *    production.
 */
import { request, Agent } from "undici";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createWriteStream, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { MODEL, freshDataDir, gatewayOptions, loginAndCreateKey, removeDir, startEnv, workerOptions } from "../test/helpers/stack.ts";
import { percentile } from "../src/settlement/sli.ts";

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 100);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 350);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const MAX_TOKENS = 64;
const THINK_MS = Number(process.env.BENCH_THINK_MS ?? 20);
const WITH_PROXY = process.env.BENCH_PROXY !== "0";
const OWN_CORE = process.env.BENCH_OWN_CORE !== "0";

const log = (s: string) => process.stdout.write(`${s}\n`);
/** Converts performance.now() of this process to a clock all processes of the machine share (CLOCK_MONOTONIC). */
const SHARED_CLOCK_OFFSET = (([s, ns]) => s * 1e3 + ns / 1e6 - performance.now())(process.hrtime());

/** Child roles: the gateway and the worker run in their own processes, as in production. */
const role = process.argv[2];
if (role === "gateway-process") {
  const opts = JSON.parse(process.env.BENCH_GATEWAY_OPTIONS!);
  const { buildGateway } = await import("../src/server.ts");
  const { createLogger } = await import("../src/shared/log.ts");
  // The process-wide setting the gateway's entry point (cli.ts) applies from its configuration.
  const { setHeapGrowingPercent, HEAP_GROWING_PERCENT } = await import("../src/shared/heap-growth.ts");
  setHeapGrowingPercent(Number(process.env.BENCH_HEAP_GROWING_PERCENT ?? HEAP_GROWING_PERCENT));
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
    if (process.env.BENCH_HEAP_SNAPSHOT) (await import("node:v8")).writeHeapSnapshot(process.env.BENCH_HEAP_SNAPSHOT);
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
  // When each stream was accepted and when its first token left, on the shared clock, by the
  // request's prompt (unique per request): the load generator asks for them after each turn.
  const firstTokens = new Map<string, [number, number]>();
  const firstToken = (body: unknown, acceptedAt: number, at: number) => {
    const prompt = (body as { messages?: { content?: unknown }[] }).messages?.at(-1)?.content;
    if (typeof prompt === "string") firstTokens.set(prompt, [acceptedAt + SHARED_CLOCK_OFFSET, at + SHARED_CLOCK_OFFSET]);
  };
  const sim = await startSimulator({ port: 0, ttftMs: 100, ttftSigma: 0, tokensPerSecond: 50, minCompletionTokens: MAX_TOKENS, maxCompletionTokens: MAX_TOKENS, models: [{ name: MODEL, contextLength: 8192 }] }, { firstToken });
  const w = await startWorker({ ...o, upstream: sim.url, models: parseModelSpecs(MODEL) }, { logger: createLogger("silent") });
  process.on("message", () => {
    process.send!([...firstTokens]);
    firstTokens.clear();
  });
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
  const child = spawn(process.execPath, [...flags, fileURLToPath(import.meta.url), name], { env: { ...process.env, [envVar]: typeof value === "string" ? value : JSON.stringify(value) }, stdio: ["ignore", "pipe", "inherit", "ipc"] });
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
/**
 * One turn of one path. `ttft`: time to first token as the client saw it. `outside`: the same minus
 * the simulator's own part (from accepting the request to writing its first token): the time spent
 * in the hops in front of the model, the only part a gateway can add to.
 */
type Turn = { ttft: number[]; outside: number[]; unmatched: number; tokens: number; seconds: number; errors: number; overhead: number[] };
type FirstToken = { prompt: string; start: number; at: number };
const errorKinds = new Map<string, number>();
const countError = (what: string) => errorKinds.set(what, (errorKinds.get(what) ?? 0) + 1);
let promptSeq = 0;

/** The simulator's [accepted, first token written] times since the last call, by prompt. */
const simulatorTimes = () =>
  new Promise<Map<string, [number, number]>>((resolve) => {
    workerProc.child.once("message", (m) => resolve(new Map(m as [string, [number, number]][])));
    workerProc.child.send("first-tokens");
  });

/** CONCURRENCY simulated users send n requests in all on one path. */
async function run(target: Path, n: number): Promise<Turn> {
  const endpoint = `${target === "gateway" ? url : target === "proxy" ? proxy!.info.url : worker.endpoint}/v1/chat/completions`;
  const auth = target === "gateway" ? `Bearer ${key}` : `Bearer ${worker.token}`;
  const turn: Turn = { ttft: [], outside: [], unmatched: 0, tokens: 0, seconds: 0, errors: 0, overhead: [] };
  const firstTokens: FirstToken[] = [];
  let next = 0;
  const one = async (i: number) => {
    if (THINK_MS > 0 && i >= 0) await new Promise((r) => setTimeout(r, Math.random() * THINK_MS));
    // Unique per request: the simulator reports its times by prompt.
    const prompt = `benchmark request ${promptSeq++}`;
    const start = performance.now();
    const res = await request(endpoint, {
      method: "POST",
      dispatcher: agent,
      headers: { authorization: auth, "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: prompt }], max_tokens: MAX_TOKENS, stream: true, stream_options: { include_usage: true } }),
    });
    if (i < 0) return void (await res.body.dump());
    if (res.statusCode !== 200) {
      turn.errors++;
      countError(`${target} HTTP ${res.statusCode}`);
      await res.body.dump();
      return;
    }
    const oh = res.headers["x-tollgate-overhead-ms"];
    if (typeof oh === "string") turn.overhead.push(Number(oh));
    // The load generator shares the machine with what it measures: it looks only at new bytes (and
    // the end of the previous read, where a marker may begin), and keeps the last two reads for the
    // usage event at the end.
    let first = true;
    let previous = "";
    let last = "";
    for await (const chunk of res.body) {
      const text = chunk.toString();
      if (first && (last.slice(-16) + text).includes('"content"')) {
        const at = performance.now();
        turn.ttft.push(at - start);
        firstTokens.push({ prompt, start: start + SHARED_CLOCK_OFFSET, at: at + SHARED_CLOCK_OFFSET });
        first = false;
      }
      previous = last;
      last = text;
    }
    const m = /"completion_tokens":(\d+)/.exec(previous + last);
    turn.tokens += m ? Number(m[1]) : 0;
  };
  // One untimed request first: the path is warm when the turn starts, as it is in steady use (the
  // gateway's key and tier caches would otherwise have expired while the other paths took their turn,
  // and the turn's first hundred requests would all wait for the same database lookup).
  await one(-1);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        try {
          await one(i);
        } catch (err) {
          turn.errors++;
          countError(`${target} ${(err as Error).message}`);
        }
      }
    }),
  );
  turn.seconds = (performance.now() - t0) / 1000;
  const sim = await simulatorTimes();
  for (const f of firstTokens) {
    const t = sim.get(f.prompt);
    if (!t) turn.unmatched++;
    else turn.outside.push(f.at - f.start - (t[1] - t[0]));
  }
  return turn;
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
type GatewayVitals = { gc: Map<string, { count: number; sum: number }>; loopP50: number; loopP99: number; loopMax: number; heapMb: number; rssMb: number };
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
  const mb = (name: string) => Number(new RegExp(`^tollgate_gateway_${name} ([\\d.e+-]+)$`, "m").exec(text)?.[1] ?? 0) / 2 ** 20;
  return { gc, loopP50: lag("p50"), loopP99: lag("p99"), loopMax: lag("max"), heapMb: mb("nodejs_heap_size_used_bytes"), rssMb: mb("process_resident_memory_bytes") };
}

const sortedOf = (turns: Turn[], of: "ttft" | "outside") => turns.flatMap((t) => t[of]).sort((a, b) => a - b);
const rate = (turns: Turn[]) => turns.reduce((n, t) => n + t.tokens, 0) / turns.reduce((s, t) => s + t.seconds, 0);
/** p50 and p99 of what a path adds over the direct one, by the whole TTFT or by the part outside the model. */
const addedBy = (via: Turn[], direct: Turn[], of: "ttft" | "outside") => {
  const v = sortedOf(via, of);
  const d = sortedOf(direct, of);
  return { p50: percentile(v, 50) - percentile(d, 50), p99: percentile(v, 99) - percentile(d, 99) };
};
/**
 * How far the figure could move with the luck of the turns: 2.5th and 97.5th percentiles of the
 * added p50 and p99 when each path's turns are drawn again with replacement (bootstrap, 400 draws).
 * On a machine whose speed drifts from turn to turn the interval is wide; a figure inside it is no
 * better than another.
 */
function interval(via: Turn[], direct: Turn[]) {
  const draw = (turns: Turn[]) => Array.from(turns, () => turns[Math.floor(Math.random() * turns.length)]!);
  const p50s: number[] = [];
  const p99s: number[] = [];
  for (let i = 0; i < 400; i++) {
    const a = addedBy(draw(via), draw(direct), "ttft");
    p50s.push(a.p50);
    p99s.push(a.p99);
  }
  const range = (xs: number[]) => (xs.sort((a, b) => a - b), `${percentile(xs, 2.5).toFixed(1)} to ${percentile(xs, 97.5).toFixed(1)} ms`);
  return `p50 ${range(p50s)}, p99 ${range(p99s)}`;
}
type Figures = { p50: number; p99: number; ratio: number };
const show = (f: Figures) => `added ttft p50 ms: ${f.p50.toFixed(2)}, p99 ms: ${f.p99.toFixed(2)}, throughput ratio: ${f.ratio.toFixed(3)}`;

/**
 * ROUNDS rounds; in each the paths take turns (in an order that rotates every round), each turn
 * REQUESTS requests from CONCURRENCY users.
 */
async function measure(label: string): Promise<Partial<Record<Path, Figures>>> {
  log(`${label}:`);
  const procs = { gateway: gwProc.child.pid, proxy: proxy?.child.pid, worker: workerProc.child.pid };
  const cpu = { gateway: 0, proxy: 0, worker: 0, load: 0 };
  const gcDuring = new Map<string, { count: number; sum: number }>();
  const loop = { p50: [] as number[], p99: [] as number[], max: 0 };
  const memory = { heapMb: 0, rssMb: 0 }; // the most seen at the end of a turn
  const turns: Record<Path, Turn[]> = { direct: [], proxy: [], gateway: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const p of PATHS.map((_, i) => PATHS[(i + round - 1) % PATHS.length]!)) {
      // CPU of the hop, the worker and this load generator while only this path runs.
      const before = { hop: cpuSeconds(p === "direct" ? undefined : procs[p]), worker: cpuSeconds(procs.worker), load: process.cpuUsage() };
      const vitals = p === "gateway" ? await gatewayVitals() : null;
      const t = await run(p, REQUESTS);
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
        memory.heapMb = Math.max(memory.heapMb, after.heapMb);
        memory.rssMb = Math.max(memory.rssMb, after.rssMb);
      }
      if (p !== "direct" && before.hop !== null) cpu[p] += cpuSeconds(procs[p])! - before.hop;
      if (before.worker !== null) cpu.worker += cpuSeconds(procs.worker)! - before.worker;
      const load = process.cpuUsage(before.load);
      cpu.load += (load.user + load.system) / 1e6;
      turns[p].push(t);
      const p50 = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50).toFixed(1);
      log(`  round ${round} ${p.padEnd(7)}: ${t.ttft.length} streams, ttft p50 ${p50(t.ttft)} ms, outside the model p50 ${p50(t.outside)} ms, ${t.errors} errors`);
    }
  }
  const count = (p: Path) => turns[p].reduce((n, t) => n + t.ttft.length, 0);
  for (const p of PATHS) {
    const pp = (of: "ttft" | "outside") => {
      const xs = sortedOf(turns[p], of);
      return `p50 ${percentile(xs, 50).toFixed(2)} / p99 ${percentile(xs, 99).toFixed(2)} ms`;
    };
    const unmatched = turns[p].reduce((n, t) => n + t.unmatched, 0);
    log(`  ${p.padEnd(7)}: ${count(p)} streams, ttft ${pp("ttft")}, outside the model ${pp("outside")}, ${rate(turns[p]).toFixed(0)} tokens/s${unmatched ? ` (${unmatched} without the simulator's times)` : ""}`);
  }
  const so = turns.gateway.flatMap((t) => t.overhead).sort((a, b) => a - b);
  if (so.length > 0) log(`  gateway's own time before the first byte (x-tollgate-overhead-ms): p50 ${percentile(so, 50).toFixed(3)} ms, p99 ${percentile(so, 99).toFixed(3)} ms`);
  if (cpu.gateway > 0) {
    // CPU per stream barely depends on the neighbours, unlike latency on a shared machine. The worker
    // process and the load generator serve every path's streams: theirs are per stream of any path.
    const all = PATHS.reduce((n, p) => n + count(p), 0);
    const perStream = (sec: number, n: number) => `${((sec * 1000) / n).toFixed(2)} ms`;
    log(`  CPU per stream: gateway ${perStream(cpu.gateway, count("gateway"))}${proxy ? `, pass-through proxy ${perStream(cpu.proxy, count("proxy"))}` : ""}, worker agent + simulator ${perStream(cpu.worker, all)}, load generator ${perStream(cpu.load, all)} (${MAX_TOKENS} tokens a stream)`);
  }
  if (gcDuring.size > 0) {
    const kinds = [...gcDuring].map(([k, v]) => `${k} ${v.count} × ${v.count ? ((v.sum * 1000) / v.count).toFixed(1) : 0} ms`).join(", ");
    log(`  gateway during its turns: GC ${kinds}; event-loop delay p50 ${Math.max(...loop.p50).toFixed(2)} ms, p99 ${Math.max(...loop.p99).toFixed(2)} ms, max ${loop.max.toFixed(1)} ms (worst turn); heap used up to ${memory.heapMb.toFixed(0)} MB, resident up to ${memory.rssMb.toFixed(0)} MB`);
  }
  const figures: Partial<Record<Path, Figures>> = {};
  for (const hop of PATHS.filter((p) => p !== "direct")) {
    const whole = addedBy(turns[hop], turns.direct, "ttft");
    const outside = addedBy(turns[hop], turns.direct, "outside");
    figures[hop] = { ...whole, ratio: rate(turns[hop]) / rate(turns.direct) };
    const name = hop === "proxy" ? "pass-through proxy (the floor of any Node hop here)" : "gateway";
    log(`  ${name}: ${show(figures[hop]!)}`);
    log(`    outside the model: added p50 ${outside.p50.toFixed(2)} ms, p99 ${outside.p99.toFixed(2)} ms; 95 % interval of the added ttft over the turns: ${interval(turns[hop], turns.direct)}`);
  }
  if (figures.proxy) log(`  gateway minus pass-through proxy: ttft p50 ${(figures.gateway!.p50 - figures.proxy.p50).toFixed(2)} ms, p99 ${(figures.gateway!.p99 - figures.proxy.p99).toFixed(2)} ms`);
  return figures;
}

/** Pins a process, every thread of it, to the given CPUs (taskset, util-linux); false where that fails. */
const pin = (pid: number, cpus: string) => spawnSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: "ignore" }).status === 0;
const shared = await measure("every process free to run on both cores (the gateway competes with the simulated GPU host and the load generator)");
let ownCore: Partial<Record<Path, Figures>> | null = null;
if (OWN_CORE) {
  const hops = [gwProc.child.pid!, ...(proxy ? [proxy.child.pid!] : [])];
  const rest = [workerProc.child.pid!, process.pid, env.chain.process.pid!];
  if (availableParallelism() < 2) log("gateway on its own core: skipped, this machine has one core");
  else if (![...hops.map((p) => pin(p, "1")), ...rest.map((p) => pin(p, "0"))].every(Boolean)) log("gateway on its own core: skipped, taskset could not pin the processes");
  else ownCore = await measure("gateway on its own core (gateway and proxy on core 1; simulated GPU host, load generator and chain on core 0)");
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
if (shared.proxy) log(`pass-through proxy, same machine: ${show(shared.proxy)}`);
if (ownCore) log(`gateway on its own core: ${show(ownCore.gateway!)}`);
log(show(shared.gateway!));
