import { formatAmount } from "../../lib/usdc.ts";
import { ErrorLine, usePaged } from "./paging.tsx";

type DisputeRow = { id: string; customer: string; provider: string; gatewayId: number; batchId: string; entryIndex: number; amount: string; status: string; refund: string | null; openedAt: number; resolveBy: number };
type SlashRow = { provider: string; requested: string; paid: string; reason: string; timestamp: number; txHash: string };

export function Disputes() {
  const d = usePaged<DisputeRow>("disputes", `query($first: Int, $after: String) { disputes(first: $first, after: $after) { nodes { id customer provider gatewayId batchId entryIndex amount status refund openedAt resolveBy } pageInfo { endCursor hasNextPage } } }`, (x) => x.disputes);
  const s = usePaged<SlashRow>("slashes", `query($first: Int, $after: String) { slashes(first: $first, after: $after) { nodes { provider requested paid reason timestamp txHash } pageInfo { endCursor hasNextPage } } }`, (x) => x.slashes);
  return (
    <>
      <section>
        <h2>Disputes</h2>
        <ErrorLine error={d.error} />
        <table>
          <thead><tr><th>#</th><th>Opened</th><th>Entry</th><th>Customer</th><th>Provider</th><th className="num">Disputed</th><th>Status</th><th>Decide by</th><th className="num">Refund</th></tr></thead>
          <tbody>
            {d.rows.map((x) => (
              <tr key={x.id}><td>{x.id}</td><td>{new Date(x.openedAt * 1000).toLocaleString()}</td><td>{x.gatewayId}/{x.batchId}#{x.entryIndex}</td><td><code>{x.customer.slice(0, 10)}…</code></td><td><code>{x.provider.slice(0, 10)}…</code></td><td className="num">{formatAmount(BigInt(x.amount))}</td><td>{x.status.toLowerCase()}</td><td>{new Date(x.resolveBy * 1000).toLocaleString()}</td><td className="num">{x.refund ? formatAmount(BigInt(x.refund)) : "—"}</td></tr>
            ))}
            {d.data && d.rows.length === 0 && <tr><td colSpan={9} className="muted">No disputes.</td></tr>}
          </tbody>
        </table>
        {d.pager}
      </section>
      <section>
        <h2>Slashes</h2>
        <ErrorLine error={s.error} />
        <table>
          <thead><tr><th>When</th><th>Provider</th><th>Reason</th><th className="num">Requested</th><th className="num">Paid</th></tr></thead>
          <tbody>
            {s.rows.map((x) => (
              <tr key={x.txHash + x.provider}><td>{new Date(x.timestamp * 1000).toLocaleString()}</td><td><code>{x.provider.slice(0, 10)}…</code></td><td>{x.reason}</td><td className="num">{formatAmount(BigInt(x.requested))}</td><td className="num">{formatAmount(BigInt(x.paid))}</td></tr>
            ))}
            {s.data && s.rows.length === 0 && <tr><td colSpan={5} className="muted">No slashes.</td></tr>}
          </tbody>
        </table>
        {s.pager}
      </section>
    </>
  );
}
