/** The signed WorkerRegistration, built from @tollgate/protocol's one definition of the type. */
import { domainOf, workerRegistrationTypes, type WorkerRegistration } from "@tollgate/protocol/eip712";
import type { Address, Hex, LocalAccount } from "viem";

export type RegistrationInput = {
  provider: Address;
  endpoint: string;
  models: string[];
  maxConcurrency: number;
  gateway: Address;
  ttlSec: number;
};

export function buildRegistration(account: LocalAccount, input: RegistrationInput, nowSec = Math.floor(Date.now() / 1000)): WorkerRegistration {
  return {
    provider: input.provider,
    worker: account.address,
    endpoint: input.endpoint,
    models: input.models,
    maxConcurrency: input.maxConcurrency,
    gateway: input.gateway,
    issuedAt: BigInt(nowSec),
    expiresAt: BigInt(nowSec + input.ttlSec),
  };
}

export function signRegistration(account: LocalAccount, chainId: number, registry: Address, registration: WorkerRegistration): Promise<Hex> {
  return account.signTypedData({
    domain: domainOf("worker", chainId, registry),
    types: workerRegistrationTypes,
    primaryType: "WorkerRegistration",
    message: registration,
  });
}

/** JSON form sent to the gateway: bigints as decimal strings (one definition, in the protocol). */
export { registrationToWire as registrationToJson } from "@tollgate/protocol/worker-registration";
