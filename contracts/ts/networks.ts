/**
 * Where the protocol lives on each network, with nothing Node-only, so the dApp imports it too:
 * chain ids, Circle's USDC, block explorers, and the schema of a deployment manifest. The loader
 * that reads a manifest from disk is in deployments.ts.
 */
// zod/mini: the dApp validates its config with these schemas in its initial chunk.
import * as z from "zod/mini";

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

export const addressSchema = z.string().check(z.regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte address")) as unknown as z.ZodMiniType<`0x${string}`>;

/** The protocol's contract addresses on one network. */
export const deploymentContractsSchema = z.object({
  usdc: addressSchema,
  accessManager: addressSchema,
  providerRegistry: addressSchema,
  providerStaking: addressSchema,
  settlement: addressSchema,
  slaCredits: addressSchema,
});

export const deploymentSchema = z.object({
  chainId: z.number().check(z.int(), z.positive()),
  deployBlock: z.number().check(z.int(), z.nonnegative()),
  contracts: deploymentContractsSchema,
});
export type Deployment = z.infer<typeof deploymentSchema>;
