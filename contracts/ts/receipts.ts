/**
 * Receipts: one per request, the leaves of a batch's Merkle tree. The tree is OpenZeppelin's
 * StandardMerkleTree (double-hashed, sorted pairs), so `MerkleProof.sol` on-chain and
 * `@openzeppelin/merkle-tree` here agree byte for byte. Never carries prompt or output text.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { encodeAbiParameters, keccak256, stringToBytes, type Address, type Hex } from "viem";
// The library's tree core (StandardMerkleTree builds on it); see receiptLeafHash for why not `.of`.
import { getProof, makeMerkleTree } from "@openzeppelin/merkle-tree/dist/core.js";
// zod/mini: the dApp parses receipts in the browser, and mini keeps that chunk small.
import * as z from "zod/mini";
import { exactCost } from "./price.ts";

/** How a request ended. */
export const RECEIPT_STATUS = {
  ok: 0,
  /** The stream broke after the first token: the customer pays for what was generated. */
  partial: 1,
  /** The customer disconnected: pays for what was generated before the upstream was cancelled. */
  cancelled: 2,
  /** Upstream failed before any token: nothing is charged. */
  error: 3,
} as const;
export type ReceiptStatus = keyof typeof RECEIPT_STATUS;

export type Receipt = {
  /** keccak256 of the gateway's request id; what the customer sees as the receipt id. */
  id: Hex;
  customer: Address;
  provider: Address;
  worker: Address;
  /** keccak256 of the model name (see models.ts). */
  model: Hex;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  /** USDC base units per million tokens, as charged. */
  promptPrice: bigint;
  completionPrice: bigint;
  /** Exact cost in USDC base units x 1e6 (no rounding; the batch entry rounds the sum once). */
  cost: bigint;
  ttftMs: number;
  durationMs: number;
  status: number;
  /** Unix seconds when the request finished. */
  servedAt: bigint;
};

const hex32 = z.string().check(z.regex(/^0x[0-9a-fA-F]{64}$/)) as unknown as z.ZodMiniType<Hex>;
const address = z.string().check(z.regex(/^0x[0-9a-fA-F]{40}$/)) as unknown as z.ZodMiniType<Address>;
const count = z.number().check(z.int(), z.nonnegative());
/** A bigint in JSON: a decimal string, or a number where GraphQL's Int carries it (servedAt). */
const uint = z.union([z.number().check(z.int(), z.nonnegative()), z.string().check(z.regex(/^\d+$/))]);

/**
 * A receipt as JSON carries it: the gateway's GET /v1/receipts/:id and /v1/batches/:id/receipts,
 * and the indexer's GraphQL. Parses to a Receipt; other keys (requestId, modelName, ...) are dropped.
 */
export const receiptJsonSchema = z.pipe(
  z.object({
    id: hex32, customer: address, provider: address, worker: address, model: hex32,
    promptTokens: count, cachedTokens: count, completionTokens: count, reasoningTokens: count,
    promptPrice: uint, completionPrice: uint, cost: uint,
    ttftMs: count, durationMs: count, status: z.number().check(z.int(), z.gte(0), z.lte(255)), servedAt: uint,
  }),
  z.transform((r): Receipt => ({
    ...r,
    promptPrice: BigInt(r.promptPrice),
    completionPrice: BigInt(r.completionPrice),
    cost: BigInt(r.cost),
    servedAt: BigInt(r.servedAt),
  })),
);
export type ReceiptJson = z.input<typeof receiptJsonSchema>;

/** A Receipt from its published JSON; throws a zod error naming the field if anything is malformed. */
export function receiptFromJson(json: unknown): Receipt {
  return receiptJsonSchema.parse(json);
}

/** ABI types of a leaf, in order. Changing this changes every root: it is part of the protocol. */
export const RECEIPT_LEAF_TYPES = [
  "bytes32", // id
  "address", // customer
  "address", // provider
  "address", // worker
  "bytes32", // model
  "uint32", // promptTokens
  "uint32", // cachedTokens
  "uint32", // completionTokens
  "uint32", // reasoningTokens
  "uint48", // promptPrice
  "uint48", // completionPrice
  "uint128", // cost
  "uint32", // ttftMs
  "uint32", // durationMs
  "uint8", // status
  "uint64", // servedAt
] as const;

export type ReceiptLeaf = [
  Hex, Address, Address, Address, Hex, number, number, number, number, bigint, bigint, bigint, number, number, number, bigint,
];

export function receiptLeaf(r: Receipt): ReceiptLeaf {
  return [
    r.id, r.customer, r.provider, r.worker, r.model,
    r.promptTokens, r.cachedTokens, r.completionTokens, r.reasoningTokens,
    r.promptPrice, r.completionPrice, r.cost, r.ttftMs, r.durationMs, r.status, r.servedAt,
  ];
}

/** Receipt id from the gateway's request id string. */
export function receiptId(requestId: string): Hex {
  return keccak256(stringToBytes(requestId));
}

/** Exact cost of a receipt from its token counts and prices. */
export function receiptCost(r: Pick<Receipt, "promptTokens" | "completionTokens" | "promptPrice" | "completionPrice">): bigint {
  return exactCost(BigInt(r.promptTokens), BigInt(r.completionTokens), r.promptPrice, r.completionPrice);
}

const LEAF_PARAMS = RECEIPT_LEAF_TYPES.map((type) => ({ type }));

/**
 * The leaf hash Settlement.verifyReceipt expects: StandardMerkleTree's
 * `keccak256(keccak256(abi.encode(leaf)))`, encoded and hashed with viem. The library's own
 * encoder (@metamask/abi-utils) builds an Error with a stack trace for every field it parses: about
 * 1 ms a receipt, 5 s of a gateway's event loop for a 5,000-receipt batch (docs/benchmarks.md).
 * The tests check both agree, leaf for leaf and root for root.
 */
export function receiptLeafHash(r: Receipt): Hex {
  return keccak256(keccak256(encodeAbiParameters(LEAF_PARAMS, receiptLeaf(r)), "bytes"));
}

/**
 * A batch's receipts tree: the library's tree (`makeMerkleTree`, sorted pairs) over the sorted leaf
 * hashes, exactly as `StandardMerkleTree.of` builds it, so roots and proofs are the same.
 */
export type ReceiptTree = {
  readonly root: Hex;
  readonly nodes: readonly Hex[];
  /** Leaf hash → its index in `nodes`. */
  readonly index: ReadonlyMap<Hex, number>;
};

/** The tree over leaf hashes already computed (see receiptLeafHash); at least one. */
export function receiptTreeOfLeaves(leaves: readonly Hex[]): ReceiptTree {
  // Lowercase hex of one length: string order is byte order, the library's leaf order.
  const sorted = leaves.map((l) => l.toLowerCase() as Hex).sort();
  const nodes = makeMerkleTree(sorted) as Hex[];
  const index = new Map<Hex, number>();
  sorted.forEach((leaf, i) => index.set(leaf, nodes.length - 1 - i));
  return { root: nodes[0]!, nodes, index };
}

/** The batch's receipts tree. Leaves are sorted, so the root is order-independent. */
export function receiptTree(receipts: readonly Receipt[]): ReceiptTree {
  return receiptTreeOfLeaves(receipts.map(receiptLeafHash));
}

/** Proof of the leaf with this hash (see receiptLeafHash), or null when the tree has no such leaf. */
export function proofOfLeaf(tree: ReceiptTree, leaf: Hex): Hex[] | null {
  const i = tree.index.get(leaf.toLowerCase() as Hex);
  return i === undefined ? null : (getProof(tree.nodes as Hex[], i) as Hex[]); // reads the nodes, never writes them
}

/** Proof of one receipt in a tree. */
export function receiptProof(tree: ReceiptTree, r: Receipt): Hex[] {
  const proof = proofOfLeaf(tree, receiptLeafHash(r));
  if (!proof) throw new Error(`receipt ${r.id} is not in this tree`);
  return proof;
}

/** Check a receipt against a root without the tree (what an auditor or the dApp does). */
export function verifyReceiptProof(root: Hex, r: Receipt, proof: readonly Hex[]): boolean {
  return StandardMerkleTree.verify(root, [...RECEIPT_LEAF_TYPES], receiptLeaf(r), [...proof]);
}
