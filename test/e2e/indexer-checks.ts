/** GraphQL checks against the indexer; written against its schema once the indexer is merged. */
import type { Address, Hex } from "viem";
import type { TestNet } from "./helpers.ts";

export async function assertIndexerMatchesChain(_net: TestNet, _o: { customer: Address }): Promise<void> {
  throw new Error("indexer checks not written yet");
}

export async function assertIndexerShowsSlaCredit(_net: TestNet, _o: { provider: Address; customer: Address; txHash: Hex; creditPaid: bigint }): Promise<void> {
  throw new Error("indexer checks not written yet");
}
