/**
 * The dApp's run-time configuration: one build serves devnet, Base Sepolia and Base, so addresses
 * and URLs are read from /tollgate.config.json at start and validated before anything uses them.
 */
// zod/mini: the same validation without pulling full zod into the initial chunk.
import * as z from "zod/mini";
import { deploymentContractsSchema, EXPLORERS } from "@tollgate/protocol/networks";

const url = z.url();

export const appConfigSchema = z.object({
  chainId: z.int().check(z.positive()),
  rpcUrl: url,
  chainName: z.string().check(z.minLength(1)),
  contracts: deploymentContractsSchema,
  gatewayUrl: url,
  graphqlUrl: url,
  /** null: no explorer (devnet), so no links. Left out: the protocol's explorer for the chain, if it knows one. */
  explorerUrl: z.optional(z.nullable(url)),
});
export type AppConfig = Omit<z.infer<typeof appConfigSchema>, "explorerUrl"> & { explorerUrl: string | null };

/** Parse a config object; the error names every wrong field so an operator can fix the file. */
export function parseConfig(raw: unknown): AppConfig {
  const r = appConfigSchema.safeParse(raw);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new Error(`tollgate.config.json is invalid: ${problems}`);
  }
  const { explorerUrl, ...rest } = r.data;
  return { ...rest, explorerUrl: explorerUrl === undefined ? (EXPLORERS[rest.chainId] ?? null) : explorerUrl };
}

export async function loadConfig(fetchImpl: typeof fetch = fetch): Promise<AppConfig> {
  // index.html preloads this file, so the request is already under way while the script loads.
  const res = await fetchImpl("/tollgate.config.json");
  if (!res.ok) throw new Error(`could not load /tollgate.config.json (HTTP ${res.status})`);
  let raw: unknown;
  try {
    raw = await res.json();
  } catch {
    throw new Error("tollgate.config.json is not JSON");
  }
  return parseConfig(raw);
}
