/**
 * Verify a receipt in the browser: take the receipt and its Merkle proof from the indexer (or, if
 * the indexer is down, from the gateway that published it), read the batch's root from the chain
 * ourselves, and check the proof with the protocol's own leaf encoding. Trust neither server.
 */
import { readContract } from "wagmi/actions";
import type { Config } from "wagmi";
import type { Hex } from "viem";
import { receiptFromJson, verifyReceiptProof, type ReceiptJson } from "@tollgate/protocol/receipts";
import { abis } from "./abis.ts";
import { gql } from "./graphql.ts";
import type { AppConfig } from "../config.ts";

export type Verification = { valid: boolean; onChainRoot: Hex; proofLength: number; gatewayId: number; batchId: bigint; source: "indexer" | "gateway" };

const RECEIPT_FIELDS = "id customer provider worker model promptTokens cachedTokens completionTokens reasoningTokens promptPrice completionPrice cost ttftMs durationMs status servedAt";

async function fromIndexer(cfg: AppConfig, id: string) {
  const d = await gql<{ verifyReceipt: { verdict: string; reason: string | null; receipt: ReceiptJson | null; gatewayId: number | null; batchId: string | null; proof: string[] } }>(
    cfg.graphqlUrl,
    `query($id: String!) { verifyReceipt(id: $id) { verdict reason gatewayId batchId proof receipt { ${RECEIPT_FIELDS} } } }`,
    { id },
  );
  const v = d.verifyReceipt;
  if (!v.receipt || v.gatewayId === null || v.batchId === null) throw new Error(v.reason ?? "the indexer knows no published receipt with this id");
  return { receipt: receiptFromJson(v.receipt), proof: v.proof as Hex[], gatewayId: v.gatewayId, batchId: BigInt(v.batchId) };
}

async function fromGateway(cfg: AppConfig, id: string) {
  const res = await fetch(`${cfg.gatewayUrl}/v1/receipts/${id}`);
  if (!res.ok) throw new Error(res.status === 404 ? "no receipt with this id" : `the gateway answered HTTP ${res.status}`);
  const body = (await res.json()) as { receipt: ReceiptJson; batch: { gatewayId: number; batchId: string } | null; proof: string[] | null };
  if (!body.batch || !body.proof) throw new Error("this receipt's batch is not posted yet; try again after the next epoch");
  return { receipt: receiptFromJson(body.receipt), proof: body.proof as Hex[], gatewayId: body.batch.gatewayId, batchId: BigInt(body.batch.batchId) };
}

export async function verifyReceipt(wagmi: Config, cfg: AppConfig, id: string): Promise<Verification> {
  if (!/^0x[0-9a-fA-F]{64}$/.test(id)) throw new Error("a receipt id is 0x followed by 64 hex digits (the x-tollgate-receipt-id header)");
  let source: Verification["source"] = "indexer";
  let got;
  try {
    got = await fromIndexer(cfg, id);
  } catch (indexerError) {
    source = "gateway";
    try {
      got = await fromGateway(cfg, id);
    } catch {
      throw indexerError;
    }
  }
  const record = (await readContract(wagmi, { address: cfg.contracts.settlement, abi: abis.settlement, functionName: "batchOf", args: [got.gatewayId, got.batchId] })) as { receiptsRoot: Hex };
  const valid = verifyReceiptProof(record.receiptsRoot, got.receipt, got.proof);
  return { valid, onChainRoot: record.receiptsRoot, proofLength: got.proof.length, gatewayId: got.gatewayId, batchId: got.batchId, source };
}
