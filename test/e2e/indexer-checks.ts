/** GraphQL checks against the indexer; written against its schema once the indexer is merged. */
import type { Address } from "viem";
import type { TestNet, graphql } from "./helpers.ts";

export async function assertIndexerMatchesChain(_net: TestNet, _o: { customer: Address; graphql: typeof graphql }): Promise<void> {
  throw new Error("indexer checks not written yet");
}
