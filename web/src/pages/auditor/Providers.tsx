import { formatAmount } from "../../lib/usdc.ts";
import { ErrorLine, usePaged } from "./paging.tsx";

type Row = { address: string; status: string; profile: { gpuModel: string; gpuCount: number; region: string } | null; stake: { bonded: string; unbonding: string; locked: string }; slaCreditsPaidTotal: string; arrearsOwed: string; slaReports: { nodes: { availabilityPpm: number; p95TtftMs: number }[] } };

export function Providers() {
  const q = usePaged<Row>(
    "providers",
    `query($first: Int, $after: String) { providers(first: $first, after: $after) { nodes { address status profile { gpuModel gpuCount region } stake { bonded unbonding locked } slaCreditsPaidTotal arrearsOwed slaReports(first: 1) { nodes { availabilityPpm p95TtftMs } } } pageInfo { endCursor hasNextPage } } }`,
    (d) => d.providers,
  );
  return (
    <section>
      <h2>Providers</h2>
      <ErrorLine error={q.error} />
      <table>
        <thead><tr><th>Provider</th><th>Status</th><th>Hardware</th><th className="num">Bonded</th><th className="num">Unbonding</th><th className="num">Last availability / p95 TTFT</th><th className="num">SLA credits paid</th><th className="num">SLA arrears owed</th></tr></thead>
        <tbody>
          {q.rows.map((p) => {
            const last = p.slaReports.nodes[0];
            return (
              <tr key={p.address}>
                <td><code>{p.address.slice(0, 10)}…</code></td>
                <td>{p.status.toLowerCase().replace(/_/g, " ")}</td>
                <td>{p.profile ? `${p.profile.gpuCount} × ${p.profile.gpuModel}, ${p.profile.region}` : "—"}</td>
                <td className="num">{formatAmount(BigInt(p.stake.bonded))}</td>
                <td className="num">{formatAmount(BigInt(p.stake.unbonding))}</td>
                <td className="num">{last ? `${(last.availabilityPpm / 10_000).toFixed(2)} % / ${last.p95TtftMs} ms` : "no report"}</td>
                <td className="num">{formatAmount(BigInt(p.slaCreditsPaidTotal))}</td>
                <td className={`num${BigInt(p.arrearsOwed) > 0n ? " bad" : ""}`}>{formatAmount(BigInt(p.arrearsOwed))}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {q.pager}
    </section>
  );
}
