/**
 * A worker's registration on the wire (docs/worker-protocol.md): the signed EIP-712
 * WorkerRegistration with its bigints as decimal strings, and the check every gateway runs on it.
 * The worker agent produces it; the gateway (and any test double of a gateway) verifies it here.
 */
import { getAddress, verifyTypedData, type Address, type Hex } from "viem";
import { z } from "zod";
import { domainOf, workerRegistrationTypes, type WorkerRegistration } from "./eip712.ts";

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte address");
const uint64 = z.string().regex(/^\d{1,20}$/, "must be a decimal integer string");

/** POST /v1/workers/register body. Bounds keep a hostile body small. */
export const registrationRequestSchema = z.object({
  registration: z.object({
    provider: address,
    worker: address,
    endpoint: z.string().min(1).max(2048),
    models: z.array(z.string().min(1).max(400)).min(1).max(64),
    maxConcurrency: z.number().int().min(1).max(2 ** 32 - 1),
    gateway: address,
    issuedAt: uint64,
    expiresAt: uint64,
  }),
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, "must be a 65-byte hex signature"),
});
export type RegistrationRequest = z.infer<typeof registrationRequestSchema>;

/** The wire form of a registration (bigints as decimal strings). */
export function registrationToWire(r: WorkerRegistration): RegistrationRequest["registration"] {
  return { ...r, issuedAt: r.issuedAt.toString(), expiresAt: r.expiresAt.toString() };
}

/** The typed-data message of a validated wire registration (addresses checksummed). */
export function registrationFromWire(r: RegistrationRequest["registration"]): WorkerRegistration {
  return {
    provider: getAddress(r.provider),
    worker: getAddress(r.worker),
    endpoint: r.endpoint,
    models: r.models,
    maxConcurrency: r.maxConcurrency,
    gateway: getAddress(r.gateway),
    issuedAt: BigInt(r.issuedAt),
    expiresAt: BigInt(r.expiresAt),
  };
}

/** Whether the registration was signed by the worker key it names (malformed signatures: false). */
export async function verifyWorkerRegistration(
  registration: WorkerRegistration,
  signature: Hex,
  chainId: number,
  registry: Address,
): Promise<boolean> {
  return verifyTypedData({
    address: registration.worker,
    domain: domainOf("worker", chainId, registry),
    types: workerRegistrationTypes,
    primaryType: "WorkerRegistration",
    message: registration,
    signature,
  }).catch(() => false);
}
