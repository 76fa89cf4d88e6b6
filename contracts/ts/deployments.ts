/**
 * Deployment manifests on disk (Node only): read and validate the one the deploy script writes, or
 * build one from Hardhat Ignition's addresses. The constants and the schema are in networks.ts,
 * which the dApp imports without node:fs; they are re-exported here for Node callers.
 */
import { readFileSync, existsSync } from "node:fs";
// Classic zod: importing it loads the English messages the mini schema's issues are written in,
// and its ZodError is what callers test for (`err instanceof z.ZodError`).
import { z } from "zod";
import { deploymentSchema, type Deployment } from "./networks.ts";

export * from "./networks.ts";

/** Validates a deployment; throws a ZodError naming each wrong field. */
function parseDeployment(raw: unknown): Deployment {
  const r = deploymentSchema.safeParse(raw);
  if (!r.success) throw new z.ZodError(r.error.issues);
  return r.data;
}

/** Read and validate a deployment manifest (e.g. devnet.json's `deployment`, or a file). */
export function loadDeployment(path: string): Deployment {
  if (!existsSync(path)) throw new Error(`no deployment manifest at ${path}: deploy first (see README)`);
  const raw = JSON.parse(readFileSync(path, "utf8"));
  return parseDeployment(raw.deployment ?? raw);
}

/**
 * Build a deployment manifest from Hardhat Ignition's deployed_addresses.json
 * (keys like "Tollgate#Settlement" or "TollgateLocal#TestUSDC").
 */
export function fromIgnitionAddresses(chainId: number, deployBlock: number, addresses: Record<string, string>): Deployment {
  const pick = (name: string) => {
    const hit = Object.entries(addresses).find(([key]) => key.endsWith(`#${name}`));
    if (!hit) throw new Error(`Ignition deployment has no ${name}`);
    return hit[1];
  };
  const usdc = Object.entries(addresses).find(([k]) => k.endsWith("#TestUSDC") || k.endsWith("#USDC"))?.[1];
  return parseDeployment({
    chainId,
    deployBlock,
    contracts: {
      usdc,
      accessManager: pick("TollgateAccessManager"),
      providerRegistry: pick("ProviderRegistry"),
      providerStaking: pick("ProviderStaking"),
      settlement: pick("Settlement"),
      slaCredits: pick("SlaCredits"),
    },
  });
}
