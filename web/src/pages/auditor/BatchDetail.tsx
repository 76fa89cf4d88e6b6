import { useQuery } from "@tanstack/react-query";
import { useAppConfig } from "../../lib/config-context.tsx";
import { gql } from "../../lib/graphql.ts";
import { formatAmount } from "../../lib/usdc.ts";
import { Link } from "../../lib/router.tsx";
import { VerifyReceiptButton } from "../../components/VerifyReceipt.tsx";
import { ErrorLine, usePaged } from "./paging.tsx";
import { STATUS_WORDS } from "./Batches.tsx";

type Detail = {
  batch: {
    receiptsRoot: string; entriesHash: string; receiptCount: number; charged: string; fees: string; feeBps: number; settledAt: number; vestsAt: number; txHash: string; status: string; statusReason: string | null;
    entries: { index: number; customer: string; provider: string; model: string; requests: number; promptTokens: string; completionTokens: string; charge: string; fee: string; skipped: boolean; skipReason: number | null }[];
  } | null;
};
type ReceiptRow = { id: string; customer: string; provider: string; promptTokens: number; completionTokens: number; cost: string; status: number; ttftMs: number };

export function BatchDetail({ gatewayId, batchId }: { gatewayId: number; batchId: string }) {
  const cfg = useAppConfig();
  const d = useQuery({
    queryKey: ["batch", gatewayId, batchId],
    queryFn: () => gql<Detail>(cfg.graphqlUrl, `query($g: Int!, $b: BigInt!) { batch(gatewayId: $g, batchId: $b) { receiptsRoot entriesHash receiptCount charged fees feeBps settledAt vestsAt txHash status statusReason entries { index customer provider model requests promptTokens completionTokens charge fee skipped skipReason } } }`, { g: gatewayId, b: batchId }),
  });
  const receipts = usePaged<ReceiptRow>(
    `receipts-${gatewayId}-${batchId}`,
    `query($g: Int!, $b: BigInt!, $first: Int, $after: String) { batch(gatewayId: $g, batchId: $b) { receipts(first: $first, after: $after) { nodes { id customer provider promptTokens completionTokens cost status ttftMs } pageInfo { endCursor hasNextPage } } } }`,
    (x) => x.batch?.receipts ?? { nodes: [], pageInfo: { endCursor: null, hasNextPage: false } },
    { g: gatewayId, b: batchId },
  );
  const b = d.data?.batch;
  return (
    <>
      <p><Link to="/auditor">← all batches</Link></p>
      <h1>Batch {gatewayId}/{batchId}</h1>
      <ErrorLine error={d.error} />
      {d.data && !b && <p>No such batch on-chain (yet).</p>}
      {b && (
        <section>
          <dl className="grid" style={{ gridTemplateColumns: "repeat(auto-fit, minmax(260px, 1fr))" }}>
            <div><dt className="muted">Receipts root</dt><dd><code data-testid="batch-root">{b.receiptsRoot}</code></dd></div>
            <div><dt className="muted">Verification</dt><dd className={b.status === "VERIFIED" ? "ok" : b.status === "MISMATCH" ? "bad" : ""} data-testid="batch-status">{STATUS_WORDS[b.status] ?? b.status}{b.statusReason ? `: ${b.statusReason}` : ""}</dd></div>
            <div><dt className="muted">Charged / fees</dt><dd>{formatAmount(BigInt(b.charged))} / {formatAmount(BigInt(b.fees))} USDC ({b.feeBps / 100} %)</dd></div>
            <div><dt className="muted">Settled / vests</dt><dd>{new Date(b.settledAt * 1000).toLocaleString()} / {new Date(b.vestsAt * 1000).toLocaleString()}</dd></div>
            <div><dt className="muted">Transaction</dt><dd>{cfg.explorerUrl ? <a href={`${cfg.explorerUrl}/tx/${b.txHash}`} target="_blank" rel="noreferrer">{b.txHash.slice(0, 12)}…</a> : <code>{b.txHash.slice(0, 12)}…</code>}</dd></div>
          </dl>
          <h2>Entries</h2>
          <table>
            <thead><tr><th>#</th><th>Customer</th><th>Provider</th><th className="num">Requests</th><th className="num">Tokens in / out</th><th className="num">Charge</th><th className="num">Fee</th></tr></thead>
            <tbody>
              {b.entries.map((e) => (
                <tr key={e.index}>
                  <td>{e.index}</td><td><code>{e.customer.slice(0, 10)}…</code></td><td><code>{e.provider.slice(0, 10)}…</code></td>
                  <td className="num">{e.requests}</td><td className="num">{e.promptTokens} / {e.completionTokens}</td>
                  <td className="num">{e.skipped ? `skipped (${e.skipReason === 1 ? "price above published" : "balance too low"})` : `${formatAmount(BigInt(e.charge))} USDC`}</td>
                  <td className="num">{formatAmount(BigInt(e.fee))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <section>
        <h2>Receipts</h2>
        <p className="muted">“Verify proof” recomputes the receipt's leaf in this browser and checks its Merkle proof against the root read from the chain.</p>
        <ErrorLine error={receipts.error} />
        <table>
          <thead><tr><th>Receipt</th><th>Customer</th><th className="num">Tokens</th><th className="num">Cost</th><th className="num">TTFT</th><th /></tr></thead>
          <tbody>
            {receipts.rows.map((r) => (
              <tr key={r.id} data-testid="receipt-row">
                <td><code title={r.id}>{r.id.slice(0, 12)}…</code></td>
                <td><code>{r.customer.slice(0, 10)}…</code></td>
                <td className="num">{r.promptTokens} / {r.completionTokens}</td>
                <td className="num">{formatAmount(BigInt(r.cost) / 1_000_000n)} USDC</td>
                <td className="num">{r.ttftMs} ms</td>
                <td><VerifyReceiptButton id={r.id} /></td>
              </tr>
            ))}
          </tbody>
        </table>
        {receipts.pager}
      </section>
    </>
  );
}
