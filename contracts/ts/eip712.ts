/**
 * EIP-712 domains and types of every message the protocol signs. One definition, imported by the
 * gateway, the worker, the indexer and the dApp; the Solidity typehashes are checked against these
 * strings in the contract tests.
 */
import type { Address, TypedDataDomain } from "viem";

/** Domain names and versions. Each contract has its own, so a signature can never cross contracts. */
export const DOMAINS = {
  settlement: { name: "Tollgate Settlement", version: "1" },
  sla: { name: "Tollgate SLA", version: "1" },
  worker: { name: "Tollgate Worker", version: "1" },
} as const;

export function domainOf(
  kind: keyof typeof DOMAINS,
  chainId: number,
  verifyingContract: Address,
): TypedDataDomain & { chainId: number; verifyingContract: Address } {
  return { ...DOMAINS[kind], chainId, verifyingContract };
}

/**
 * EIP-2612 `Permit` (USDC's `permit`), signed under the token's own domain (Circle's USDC: name
 * "USD Coin", version "2"); `Settlement.depositWithPermit` takes it so a top-up is one signature and
 * one transaction.
 */
export const permitTypes = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

/** Circle's USDC EIP-712 domain (TestUSDC signs under the same name and version). */
export function usdcDomain(chainId: number, usdc: Address) {
  return { name: "USD Coin", version: "2", chainId, verifyingContract: usdc } as const;
}

/** A usage batch posted by a gateway to Settlement. Entries are aggregated per (customer, provider, model, price). */
export const batchTypes = {
  Batch: [
    { name: "gatewayId", type: "uint32" },
    { name: "batchId", type: "uint64" },
    { name: "receiptsRoot", type: "bytes32" },
    { name: "receiptCount", type: "uint32" },
    { name: "deadline", type: "uint64" },
    { name: "entries", type: "Entry[]" },
  ],
  Entry: [
    { name: "customer", type: "address" },
    { name: "provider", type: "address" },
    { name: "model", type: "bytes32" },
    { name: "requests", type: "uint32" },
    { name: "promptTokens", type: "uint64" },
    { name: "completionTokens", type: "uint64" },
    { name: "promptPrice", type: "uint48" },
    { name: "completionPrice", type: "uint48" },
  ],
} as const;

/** Measured service levels of one provider over one SLA window, with what each customer spent there. */
export const slaReportTypes = {
  SlaReport: [
    { name: "gatewayId", type: "uint32" },
    { name: "provider", type: "address" },
    { name: "tier", type: "uint8" },
    { name: "windowStart", type: "uint64" },
    { name: "windowEnd", type: "uint64" },
    { name: "requests", type: "uint32" },
    { name: "availabilityPpm", type: "uint32" },
    { name: "p95TtftMs", type: "uint32" },
    { name: "deadline", type: "uint64" },
    { name: "spends", type: "CustomerSpend[]" },
  ],
  CustomerSpend: [
    { name: "customer", type: "address" },
    { name: "spend", type: "uint96" },
  ],
} as const;

/**
 * A worker's request to join a gateway, signed by a worker key its provider authorized on-chain
 * (ProviderRegistry.authorizeWorker). Verified off-chain by the gateway; bound to one gateway and
 * a short validity so a captured registration cannot be replayed elsewhere or later.
 */
export const workerRegistrationTypes = {
  WorkerRegistration: [
    { name: "provider", type: "address" },
    { name: "worker", type: "address" },
    { name: "endpoint", type: "string" },
    { name: "models", type: "string[]" },
    { name: "maxConcurrency", type: "uint32" },
    { name: "gateway", type: "address" },
    { name: "issuedAt", type: "uint64" },
    { name: "expiresAt", type: "uint64" },
  ],
} as const;

export type BatchEntry = {
  customer: Address;
  provider: Address;
  model: `0x${string}`;
  requests: number;
  promptTokens: bigint;
  completionTokens: bigint;
  promptPrice: bigint;
  completionPrice: bigint;
};

export type Batch = {
  gatewayId: number;
  batchId: bigint;
  receiptsRoot: `0x${string}`;
  receiptCount: number;
  deadline: bigint;
  entries: BatchEntry[];
};

export type CustomerSpend = { customer: Address; spend: bigint };

export type SlaReport = {
  gatewayId: number;
  provider: Address;
  tier: number;
  windowStart: bigint;
  windowEnd: bigint;
  requests: number;
  availabilityPpm: number;
  p95TtftMs: number;
  deadline: bigint;
  spends: CustomerSpend[];
};

export type WorkerRegistration = {
  provider: Address;
  worker: Address;
  endpoint: string;
  models: string[];
  maxConcurrency: number;
  gateway: Address;
  issuedAt: bigint;
  expiresAt: bigint;
};
