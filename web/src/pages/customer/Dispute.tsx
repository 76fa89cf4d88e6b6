/**
 * Dispute a settled charge on-chain, within the dispute window: the entry and every entry hash of its
 * batch come from the indexer, the hashes are recomputed here with the protocol's own code, and the
 * arbiter decides. The reason is stored only as a hash; never put secrets or personal data in it.
 */
import { useState } from "react";
import { useConfig } from "wagmi";
import { readContract, writeContract } from "wagmi/actions";
import { keccak256, stringToBytes, type Address, type Hex } from "viem";
import { entryHash } from "@tollgate/protocol/batch";
import { useAppConfig } from "../../lib/config-context.tsx";
import { abis } from "../../lib/abis.ts";
import { gql } from "../../lib/graphql.ts";
import { useTx } from "../../lib/tx.ts";
import { formatAmount } from "../../lib/usdc.ts";
import { TxStatus } from "../../components/TxStatus.tsx";
import { AmountInput, unitsOf } from "../../components/AmountInput.tsx";
import { findSecrets } from "../../lib/secrets.ts";

type RawEntry = { index: number; customer: string; provider: string; model: string; requests: number; promptTokens: string; completionTokens: string; promptPrice: string; completionPrice: string };

const toEntry = (e: RawEntry) => ({
  customer: e.customer as Address,
  provider: e.provider as Address,
  model: e.model as Hex,
  requests: e.requests,
  promptTokens: BigInt(e.promptTokens),
  completionTokens: BigInt(e.completionTokens),
  promptPrice: BigInt(e.promptPrice),
  completionPrice: BigInt(e.completionPrice),
});

export function DisputeForm({ gatewayId, batchId, index, charge, onClose }: { gatewayId: number; batchId: string; index: number; charge: bigint; onClose(): void }) {
  const cfg = useAppConfig();
  const wagmi = useConfig();
  const [amount, setAmount] = useState("");
  const [reason, setReason] = useState("");
  const tx = useTx();
  const units = unitsOf(amount);
  const secrets = findSecrets(reason);
  const tooMuch = units !== null && units > charge;
  const submit = () =>
    units &&
    tx.run("Dispute", async () => {
      const d = await gql<{ batch: { entries: RawEntry[] } | null }>(cfg.graphqlUrl, `query($g: Int!, $b: BigInt!) { batch(gatewayId: $g, batchId: $b) { entries { index customer provider model requests promptTokens completionTokens promptPrice completionPrice } } }`, { g: gatewayId, b: batchId });
      if (!d.batch) throw new Error("the indexer does not know this batch yet");
      const entries = [...d.batch.entries].sort((a, b) => a.index - b.index).map(toEntry);
      const entry = entries[index];
      if (!entry) throw new Error("the batch has no such entry");
      // Check against the chain before asking for a signature: the recomputed hashes must match what settled.
      const record = (await readContract(wagmi, { address: cfg.contracts.settlement, abi: abis.settlement, functionName: "batchOf", args: [gatewayId, BigInt(batchId)] })) as { entryCount: number };
      if (record.entryCount !== entries.length) throw new Error("the indexer's entries do not match the batch on-chain; try again later");
      const typedEntry = { ...entry, promptPrice: Number(entry.promptPrice), completionPrice: Number(entry.completionPrice) };
      return writeContract(wagmi, {
        address: cfg.contracts.settlement,
        abi: abis.settlement,
        functionName: "openDispute",
        args: [{ gatewayId, batchId: BigInt(batchId), index }, typedEntry, entries.map(entryHash), units, keccak256(stringToBytes(reason.trim()))],
      } as Parameters<typeof writeContract>[1]);
    });
  return (
    <div className="card" data-testid="dispute-form">
      <h3>Dispute charge {gatewayId}/{batchId}#{index} ({formatAmount(charge)} USDC)</h3>
      <p className="muted">An arbiter reviews the dispute; an upheld dispute refunds you from the provider's unvested earnings, then stake. Only a hash of the reason goes on-chain: keep the text so you can show it, and put no secrets or personal data in it.</p>
      <div className="row">
        <AmountInput label="Amount disputed" value={amount} onChange={setAmount} disabled={tx.busy} />
        <label className="field grow"><span>Reason</span><input value={reason} onChange={(e) => setReason(e.target.value)} placeholder="e.g. answers were empty for request ids …" /></label>
        <button disabled={tx.busy || !units || tooMuch || !reason.trim() || secrets.length > 0} onClick={submit}>Open dispute</button>
        <button className="secondary" onClick={onClose} disabled={tx.busy}>Close</button>
      </div>
      {tooMuch && <p className="field-error" role="alert">You can dispute at most the charge, {formatAmount(charge)} USDC.</p>}
      {secrets.map((s) => <p key={s.kind} className="field-error" role="alert">This looks like {s.kind}. {s.advice}</p>)}
      <TxStatus state={tx.state} />
    </div>
  );
}
