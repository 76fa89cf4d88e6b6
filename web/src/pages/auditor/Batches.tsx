import { formatAmount } from "../../lib/usdc.ts";
import { Link } from "../../lib/router.tsx";
import { ErrorLine, usePaged } from "./paging.tsx";

type BatchRow = { gatewayId: number; batchId: string; receiptCount: number; entryCount: number; charged: string; fees: string; skipped: number; settledAt: number; status: string };

export const STATUS_WORDS: Record<string, string> = { PENDING: "receipts not fetched yet", VERIFIED: "verified", MISMATCH: "MISMATCH" };

export function Batches() {
  const q = usePaged<BatchRow>(
    "batches",
    `query($first: Int, $after: String) { batches(first: $first, after: $after) { nodes { gatewayId batchId receiptCount entryCount charged fees skipped settledAt status } pageInfo { endCursor hasNextPage } } }`,
    (d) => d.batches,
  );
  return (
    <section>
      <h2>Batches</h2>
      <ErrorLine error={q.error} />
      <table>
        <thead><tr><th>Batch</th><th>Settled</th><th className="num">Receipts</th><th className="num">Entries</th><th className="num">Charged</th><th className="num">Fees</th><th>Verification</th></tr></thead>
        <tbody>
          {q.rows.map((b) => (
            <tr key={`${b.gatewayId}-${b.batchId}`} data-testid="batch-row">
              <td><Link to={`/auditor/batch/${b.gatewayId}/${b.batchId}`}>{b.gatewayId}/{b.batchId}</Link></td>
              <td>{new Date(b.settledAt * 1000).toLocaleString()}</td>
              <td className="num">{b.receiptCount}</td>
              <td className="num">{b.entryCount}{b.skipped ? ` (${b.skipped} skipped)` : ""}</td>
              <td className="num">{formatAmount(BigInt(b.charged))} USDC</td>
              <td className="num">{formatAmount(BigInt(b.fees))} USDC</td>
              <td className={b.status === "MISMATCH" ? "bad" : b.status === "VERIFIED" ? "ok" : "muted"}>{STATUS_WORDS[b.status] ?? b.status}</td>
            </tr>
          ))}
          {q.data && q.rows.length === 0 && <tr><td colSpan={7} className="muted">No batch settled yet.</td></tr>}
        </tbody>
      </table>
      {q.pager}
    </section>
  );
}
