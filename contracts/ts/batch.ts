/**
 * From receipts to a signed batch: aggregation per (customer, provider, model, price), the EIP-712
 * digest, and the entry hashes a customer needs to open a dispute. The gateway builds batches with
 * these functions and the indexer re-derives them from published receipts with the same code.
 */
import { hashStruct, hashTypedData, keccak256, concat, type Address, type Hex, type LocalAccount } from "viem";
import { batchTypes, domainOf, type Batch, type BatchEntry } from "./eip712.ts";
import { charge } from "./price.ts";
import type { Receipt } from "./receipts.ts";

/** Sum receipts into batch entries. Order: first appearance, so the gateway's output is stable. */
export function aggregateEntries(receipts: readonly Receipt[]): BatchEntry[] {
  const byKey = new Map<string, BatchEntry>();
  for (const r of receipts) {
    const key = `${r.customer}|${r.provider}|${r.model}|${r.promptPrice}|${r.completionPrice}`.toLowerCase();
    let e = byKey.get(key);
    if (!e) {
      e = {
        customer: r.customer,
        provider: r.provider,
        model: r.model,
        requests: 0,
        promptTokens: 0n,
        completionTokens: 0n,
        promptPrice: r.promptPrice,
        completionPrice: r.completionPrice,
      };
      byKey.set(key, e);
    }
    e.requests += 1;
    e.promptTokens += BigInt(r.promptTokens);
    e.completionTokens += BigInt(r.completionTokens);
  }
  return [...byKey.values()];
}

/** What Settlement will charge for an entry. */
export function entryCharge(e: BatchEntry): bigint {
  return charge(e.promptTokens, e.completionTokens, e.promptPrice, e.completionPrice);
}

/**
 * viem types uint48 as `number`; our API keeps prices as bigint like every other amount. Prices are
 * below 2^48, so the conversion is exact.
 */
function typedEntry(e: BatchEntry) {
  return { ...e, promptPrice: Number(e.promptPrice), completionPrice: Number(e.completionPrice) };
}

function typedBatch(b: Batch) {
  return { ...b, entries: b.entries.map(typedEntry) };
}

/** EIP-712 struct hash of one entry (Settlement.hashEntry). */
export function entryHash(e: BatchEntry): Hex {
  return hashStruct({ data: typedEntry(e), primaryType: "Entry", types: batchTypes });
}

/** Struct hashes of all entries: the `entryHashes` argument of Settlement.openDispute. */
export function entryHashes(entries: readonly BatchEntry[]): Hex[] {
  return entries.map(entryHash);
}

/** keccak256 of the concatenated entry hashes: the batch's recorded `entriesHash`. */
export function entriesHash(entries: readonly BatchEntry[]): Hex {
  return keccak256(entries.length ? concat(entryHashes(entries)) : "0x");
}

export function batchDigest(batch: Batch, chainId: number, settlement: Address): Hex {
  return hashTypedData({
    domain: domainOf("settlement", chainId, settlement),
    types: batchTypes,
    primaryType: "Batch",
    message: typedBatch(batch),
  });
}

export async function signBatch(account: LocalAccount, batch: Batch, chainId: number, settlement: Address): Promise<Hex> {
  return account.signTypedData({
    domain: domainOf("settlement", chainId, settlement),
    types: batchTypes,
    primaryType: "Batch",
    message: typedBatch(batch),
  });
}
