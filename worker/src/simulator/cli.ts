/**
 * `node src/simulator/cli.ts [flags]` — runs the simulated GPU runtime in the foreground.
 * Prints a banner saying plainly that no model runs here, then the URL to point a worker at.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { startSimulator } from "./server.ts";
import { parseModelList } from "./options.ts";

const HELP = `tollgate simulator — a SIMULATED OpenAI-compatible GPU runtime (no model, filler text)

  --host <ip>            bind address (default 127.0.0.1)
  --port <n>             port, 0 for any free port (default 8000)
  --models <list>        name[:contextLength],...  (default sim-llama-3.1-8b-instruct:8192)
  --ttft-ms <ms>         median time to first token (default 150)
  --ttft-sigma <s>       log-normal spread of TTFT, 0 = constant (default 0.3)
  --tps <n>              tokens per second per stream (default 40)
  --min-tokens <n>       shortest natural reply (default 16)
  --max-tokens <n>       longest natural reply (default 256)
  --error-rate <p>       share of requests failing with 500/503 before the first token (default 0)
  --hang-rate <p>        share of requests accepted and never answered (default 0)
  --crash-rate <p>       share of streams whose socket is destroyed mid-stream (default 0)
  --fault-seed <n>       make the fault sequence reproducible
  --tick-ms <ms>         period of the shared pacing tick (default 10)
`;

const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: "string" },
      port: { type: "string" },
      models: { type: "string" },
      "ttft-ms": { type: "string" },
      "ttft-sigma": { type: "string" },
      tps: { type: "string" },
      "min-tokens": { type: "string" },
      "max-tokens": { type: "string" },
      "error-rate": { type: "string" },
      "hang-rate": { type: "string" },
      "crash-rate": { type: "string" },
      "fault-seed": { type: "string" },
      "tick-ms": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const sim = await startSimulator({
    host: values.host,
    port: num(values.port),
    models: values.models ? parseModelList(values.models) : undefined,
    ttftMs: num(values["ttft-ms"]),
    ttftSigma: num(values["ttft-sigma"]),
    tokensPerSecond: num(values.tps),
    minCompletionTokens: num(values["min-tokens"]),
    maxCompletionTokens: num(values["max-tokens"]),
    errorRate: num(values["error-rate"]),
    hangRate: num(values["hang-rate"]),
    crashRate: num(values["crash-rate"]),
    faultSeed: num(values["fault-seed"]),
    tickMs: num(values["tick-ms"]),
  });
  const o = sim.options;
  process.stdout.write(
    [
      "==================================================================",
      " TOLLGATE SIMULATOR — simulated GPU runtime, NOT a real model.",
      " Replies are deterministic filler text for devnet, load and chaos tests.",
      "==================================================================",
      `models: ${o.models.map((m) => `${m.name} (ctx ${m.contextLength})`).join(", ")}`,
      `pace: TTFT median ${o.ttftMs} ms (sigma ${o.ttftSigma}), ${o.tokensPerSecond} tokens/s per stream`,
      `faults: error ${o.errorRate}, hang ${o.hangRate}, crash ${o.crashRate}`,
      `listening on ${sim.url}`,
      `next: tollgate-worker --runtime openai --upstream ${sim.url} ...   (Ctrl-C to stop)`,
      "",
    ].join("\n"),
  );
  const stop = () => {
    sim.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((err: unknown) => {
  const msg = err instanceof z.ZodError ? err.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") : String(err);
  process.stderr.write(`simulator: ${msg}\n`);
  process.exit(1);
});
