#!/usr/bin/env node
/**
 * npm start: the whole Tollgate network on this machine until Ctrl-C. See docs/devnet.md.
 *
 *   npm start -- [--port-base N] [--data-dir DIR] [--manifest FILE] [--fresh | --keep] [--replicas N]
 *                [--no-indexer] [--no-web] [--sla-window SEC] [--epoch-ms MS] [--quiet]
 *   env: DATABASE_URL=postgres://…  REDIS_URL=redis://…
 *
 * Only node builtins are imported up here: the protocol package needs the generated ABIs, which a
 * fresh clone builds first (npm run build, ~16 s, only when they are missing).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));

const HELP = `npm start -- [options]    the whole Tollgate network on this machine (devnet)

  --port-base N        chain on N, gateway N+1…, indexer N+10, dApp N+11, workers N+20…
                       (default: 8545, 8080, 42069, 5173, 8100…; 0 = any free ports).
                       A busy port is replaced by a free one, and said so.
  --data-dir DIR       chain state, gateway and indexer data, logs (default .data/devnet)
  --manifest FILE      where to write devnet.json (default: the repository root)
  --fresh | --keep     start from nothing (default) | resume the data directory's chain and data
  --replicas N         gateway replicas (N > 1 needs DATABASE_URL and REDIS_URL)
  --sla-window SEC     SLA report window (default 60)
  --epoch-ms MS        batch epoch (default 5000)
  --dispute-window SEC dispute window of the contracts (default 300)
  --no-indexer, --no-web   leave those out
  --quiet              print only the final summary
env: DATABASE_URL (PostgreSQL instead of embedded PGlite), REDIS_URL (shared limits and ledger)
`;

function fail(message: string): never {
  process.stderr.write(`tollgate-devnet: ${message}\n`);
  process.exit(2);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        "port-base": { type: "string" },
        "data-dir": { type: "string" },
        manifest: { type: "string" },
        fresh: { type: "boolean" },
        keep: { type: "boolean" },
        replicas: { type: "string" },
        "sla-window": { type: "string" },
        "epoch-ms": { type: "string" },
        "dispute-window": { type: "string" },
        "no-indexer": { type: "boolean" },
        "no-web": { type: "boolean" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    fail(`${(err as Error).message} (try --help)`);
  }
})();
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
if (values.fresh && values.keep) fail("--fresh and --keep exclude each other");

const int = (flag: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) fail(`--${flag} must be a whole number, got "${v}"`);
  return Number(v);
};

if (!existsSync(join(ROOT, "contracts/ts/generated/abis.ts"))) {
  process.stdout.write("contracts not built yet: npm run build (once, ~20 s) …\n");
  const r = spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) fail("npm run build failed; see its output above");
}

// The dApp is served from its production build; a checkout with the web workspace builds it once.
if (!values["no-web"] && existsSync(join(ROOT, "web/package.json")) && !existsSync(join(ROOT, "web/dist/index.html"))) {
  process.stdout.write("dApp not built yet: npm run build -w web (once) …\n");
  const r = spawnSync("npm", ["run", "build", "-w", "web"], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) fail("building the dApp failed; see its output above, or start with --no-web");
}

const { startDevnet } = await import("./start.ts");
const { summary } = await import("./summary.ts");
const { ZodError } = await import("zod");

const manifestPath = resolve(values.manifest ?? join(ROOT, "devnet.json"));
let devnet: Awaited<ReturnType<typeof startDevnet>> | null = null;
let stopping = false;
const stop = async (code: number, signal: NodeJS.Signals) => {
  if (stopping) {
    process.stdout.write(`\nsecond signal (${signal}): exiting now; the watchdog stops what is left\n`);
    process.exit(1);
  }
  stopping = true;
  if (!devnet) {
    // Still starting: the watchdog stops whatever has started once we are gone.
    process.stdout.write(`\n${signal} while starting: stopping what has started …\n`);
    process.exit(130);
  }
  if (devnet) {
    process.stdout.write(`\n${signal}: stopping every devnet process …\n`);
    await devnet.stop();
    process.stdout.write("stopped.\n");
  }
  process.exit(code);
};
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void stop(0, signal));

try {
  devnet = await startDevnet({
    portBase: int("port-base", values["port-base"]),
    dataDir: values["data-dir"],
    fresh: !values.keep,
    databaseUrl: process.env.DATABASE_URL || undefined,
    redisUrl: process.env.REDIS_URL || undefined,
    replicas: int("replicas", values.replicas),
    indexer: !values["no-indexer"],
    web: !values["no-web"],
    slaWindowSec: int("sla-window", values["sla-window"]),
    epochMs: int("epoch-ms", values["epoch-ms"]),
    disputeWindowSec: int("dispute-window", values["dispute-window"]),
    manifestPath,
    quiet: Boolean(values.quiet),
  });
  if (stopping) await devnet.stop();
  else process.stdout.write(summary(devnet.manifest, manifestPath));
} catch (err) {
  if (err instanceof ZodError) fail(err.issues.map((i) => `${i.path.join(".") || "options"}: ${i.message}`).join("; "));
  fail((err as Error).message);
}
