/** Options of startIndexer and the CLI's environment, validated with zod: one clear message per mistake. */
import { z } from "zod";
import { deploymentSchema, loadDeployment } from "@tollgate/protocol";

const url = (what: string) => z.string().refine((v) => /^https?:\/\/[^\s]+$/.test(v), { message: `${what} must be an http(s) URL` });

export const optionsSchema = z.object({
  rpcUrl: url("rpcUrl"),
  deployment: deploymentSchema,
  gateways: z.record(z.string().regex(/^\d+$/, "gateway ids are integers"), url("each gateway URL")).default({}),
  dataDir: z.string().min(1).optional(),
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, "databaseUrl must start with postgres:// or postgresql://").optional(),
  dbSchema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "dbSchema must be a lowercase SQL identifier").default("tollgate_indexer"),
  host: z.string().min(1).default("127.0.0.1"),
  port: z.number().int().min(0).max(65535).default(42069),
  pollMs: z.number().int().min(50).max(600_000).default(1000),
  /** Largest eth_getLogs block range (ranges still split further on the provider's refusals). */
  maxBlockRange: z.number().int().min(1).max(1_000_000).default(10_000),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});
export type IndexerOptions = z.input<typeof optionsSchema>;
export type ResolvedOptions = z.output<typeof optionsSchema>;

export function formatIssues(err: z.ZodError, names: Record<string, string> = {}): string {
  return err.issues.map((i) => `- ${names[String(i.path[0])] ?? i.path.join(".")}: ${i.message}`).join("\n");
}

const ENV_NAMES: Record<string, string> = {
  rpcUrl: "INDEXER_RPC_URL", deployment: "INDEXER_DEPLOYMENT", gateways: "INDEXER_GATEWAYS", dataDir: "INDEXER_DATA_DIR",
  databaseUrl: "DATABASE_URL", dbSchema: "INDEXER_DB_SCHEMA", host: "HOST", port: "PORT", pollMs: "INDEXER_POLL_MS", maxBlockRange: "INDEXER_MAX_BLOCK_RANGE", logLevel: "LOG_LEVEL",
};

/** Options from the environment; throws an Error listing every mistake by its variable name. */
export function optionsFromEnv(env: NodeJS.ProcessEnv): ResolvedOptions {
  const problems: string[] = [];
  let deployment: unknown;
  if (!env.INDEXER_DEPLOYMENT) problems.push("- INDEXER_DEPLOYMENT: required (path to a deployment JSON, e.g. the devnet's devnet.json)");
  else {
    try {
      deployment = loadDeployment(env.INDEXER_DEPLOYMENT);
    } catch (err) {
      problems.push(`- INDEXER_DEPLOYMENT: ${err instanceof z.ZodError ? "not a deployment manifest: " + err.issues.map((i) => i.path.join(".") + " " + i.message).join("; ") : (err as Error).message}`);
    }
  }
  const gateways: Record<string, string> = {};
  for (const part of (env.INDEXER_GATEWAYS ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)=(.+)$/.exec(part);
    if (!m) problems.push(`- INDEXER_GATEWAYS: "${part}" is not id=url (e.g. 1=http://127.0.0.1:8080)`);
    else gateways[m[1]!] = m[2]!;
  }
  const num = (name: string, v: string | undefined) => {
    if (v === undefined || v === "") return undefined;
    if (!/^\d+$/.test(v)) {
      problems.push(`- ${name}: must be a whole number, got "${v}"`);
      return undefined;
    }
    return Number(v);
  };
  const raw = {
    rpcUrl: env.INDEXER_RPC_URL,
    deployment,
    gateways,
    dataDir: env.INDEXER_DATA_DIR || undefined,
    databaseUrl: env.DATABASE_URL || undefined,
    dbSchema: env.INDEXER_DB_SCHEMA || undefined,
    host: env.HOST || undefined,
    port: num("PORT", env.PORT),
    pollMs: num("INDEXER_POLL_MS", env.INDEXER_POLL_MS),
    maxBlockRange: num("INDEXER_MAX_BLOCK_RANGE", env.INDEXER_MAX_BLOCK_RANGE),
    logLevel: env.LOG_LEVEL || undefined,
  };
  const parsed = optionsSchema.safeParse(raw);
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const key = String(i.path[0]);
      if (key === "deployment" && !env.INDEXER_DEPLOYMENT) continue;
      if (key === "deployment" && problems.some((p) => p.startsWith("- INDEXER_DEPLOYMENT"))) continue;
      problems.push(`- ${ENV_NAMES[key] ?? key}: ${i.path.length === 0 ? "" : i.message === "Invalid input: expected string, received undefined" ? "required" : i.message}`);
    }
  }
  if (problems.length) throw new Error(`invalid configuration:\n${problems.join("\n")}`);
  return parsed.data!;
}
