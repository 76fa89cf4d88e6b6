/** Options of startDevnet and the CLI, validated once. */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

export const REPO_ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));

export const devnetOptionsSchema = z.object({
  /** Chain at portBase, gateways from portBase+1, indexer +10, web +11, simulators and workers +20…
   *  Default: the usual ports (8545, 8080, 42069, 5173, 8100…). 0: every port picked by the OS. */
  portBase: z.number().int().min(0).max(65_000).optional(),
  dataDir: z.string().min(1).default(resolve(REPO_ROOT, ".data/devnet")),
  /** Wipe the data directory (chain state, gateway DB) first. false keeps and resumes it. */
  fresh: z.boolean().default(true),
  databaseUrl: z.string().startsWith("postgres").optional(),
  /** PostgreSQL schema of the gateway and indexer (with databaseUrl). */
  dbSchema: z.string().regex(/^[a-z_][a-z0-9_]{0,40}$/).default("tollgate_devnet"),
  redisUrl: z.string().startsWith("redis").optional(),
  redisPrefix: z.string().regex(/^[A-Za-z0-9:_-]{1,48}$/).default("tollgate-devnet"),
  replicas: z.number().int().min(1).max(8).default(1),
  indexer: z.boolean().default(true),
  web: z.boolean().default(true),
  slaWindowSec: z.number().int().min(0).max(86_400).default(60),
  epochMs: z.number().int().min(200).max(3_600_000).default(5_000),
  disputeWindowSec: z.number().int().min(10).max(30 * 86_400).default(300),
  probeIntervalMs: z.number().int().min(0).max(3_600_000).default(5_000),
  /** Where to write devnet.json besides <dataDir>/devnet.json (the CLI: the repository root). */
  manifestPath: z.string().optional(),
  quiet: z.boolean().default(false),
});
export type DevnetOptions = z.input<typeof devnetOptionsSchema>;
export type ResolvedOptions = z.output<typeof devnetOptionsSchema>;

export const DEFAULT_PORTS = { chain: 8545, gateway: 8080, indexer: 42069, web: 5173, services: 8100 } as const;

/** The wanted port of each service for a port base (undefined: the usual ports; 0: all free). */
export function wantedPorts(portBase: number | undefined) {
  if (portBase === undefined) return DEFAULT_PORTS;
  if (portBase === 0) return { chain: 0, gateway: 0, indexer: 0, web: 0, services: 0 };
  return { chain: portBase, gateway: portBase + 1, indexer: portBase + 10, web: portBase + 11, services: portBase + 20 };
}
