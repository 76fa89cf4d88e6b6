/**
 * Where the protocol lives on each network. Base and Base Sepolia use Circle's USDC; local chains
 * deploy TestUSDC. Addresses of a deployment are read from the manifest the deploy script writes.
 */
import { readFileSync, existsSync } from "node:fs";
import { z } from "zod";

export const CHAINS = { base: 8453, baseSepolia: 84532, localhost: 31337 } as const;

/** Circle's USDC on Base networks. */
export const USDC_ADDRESSES: Record<number, `0x${string}`> = {
  8453: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
  84532: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
};

/** Block explorers for links in the dApp and CLI. */
export const EXPLORERS: Record<number, string> = {
  8453: "https://basescan.org",
  84532: "https://sepolia.basescan.org",
};

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/) as unknown as z.ZodType<`0x${string}`>;

export const deploymentSchema = z.object({
  chainId: z.number().int().positive(),
  deployBlock: z.number().int().nonnegative(),
  contracts: z.object({
    usdc: address,
    accessManager: address,
    providerRegistry: address,
    providerStaking: address,
    settlement: address,
    slaCredits: address,
  }),
});
export type Deployment = z.infer<typeof deploymentSchema>;

/** Read and validate a deployment manifest (e.g. devnet.json's `deployment`, or a file). */
export function loadDeployment(path: string): Deployment {
  if (!existsSync(path)) throw new Error(`no deployment manifest at ${path}: deploy first (see README)`);
  const raw = JSON.parse(readFileSync(path, "utf8"));
  return deploymentSchema.parse(raw.deployment ?? raw);
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
  return deploymentSchema.parse({
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
