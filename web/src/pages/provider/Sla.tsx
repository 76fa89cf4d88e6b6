/** The provider's SLA record from the indexer: measured windows and credits paid from stake. */
import { useQuery } from "@tanstack/react-query";
import { useConnection } from "wagmi";
import { useAppConfig } from "../../lib/config-context.tsx";
import { gql, type Page } from "../../lib/graphql.ts";
import { formatAmount } from "../../lib/usdc.ts";

export type SlaRow = { reportKey: string; windowStart: number; windowEnd: number; requests: number; availabilityPpm: number; p95TtftMs: number; creditPaid: string; tier: number };
export const SLA_FIELDS = "reportKey windowStart windowEnd requests availabilityPpm p95TtftMs creditPaid tier";

export function SlaTable({ rows }: { rows: SlaRow[] }) {
  return (
    <table>
      <thead><tr><th>Window</th><th>Tier</th><th className="num">Requests</th><th className="num">Availability</th><th className="num">p95 TTFT</th><th className="num">Credit paid</th></tr></thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.reportKey}>
            <td>{new Date(r.windowStart * 1000).toLocaleString()} – {new Date(r.windowEnd * 1000).toLocaleTimeString()}</td>
            <td>{r.tier}</td>
            <td className="num">{r.requests}</td>
            <td className="num">{(r.availabilityPpm / 10_000).toFixed(2)} %</td>
            <td className="num">{r.p95TtftMs} ms</td>
            <td className="num">{formatAmount(BigInt(r.creditPaid))} USDC</td>
          </tr>
        ))}
        {rows.length === 0 && <tr><td colSpan={6} className="muted">No SLA reports yet.</td></tr>}
      </tbody>
    </table>
  );
}

export function Sla() {
  const cfg = useAppConfig();
  const { address } = useConnection();
  const q = useQuery({
    queryKey: ["provider-sla", address],
    enabled: !!address,
    queryFn: () => gql<{ provider: { slaCreditsPaidTotal: string; slaReports: Page<SlaRow> } | null }>(cfg.graphqlUrl, `query($a: String!) { provider(address: $a) { slaCreditsPaidTotal slaReports(first: 50) { nodes { ${SLA_FIELDS} } pageInfo { endCursor hasNextPage } } } }`, { a: address!.toLowerCase() }),
  });
  return (
    <section>
      <h2>SLA record</h2>
      {q.error && <p className="field-error">{(q.error as Error).message}</p>}
      <p>Credits paid from your stake: <strong>{q.data?.provider ? formatAmount(BigInt(q.data.provider.slaCreditsPaidTotal)) : "0.00"} USDC</strong></p>
      <SlaTable rows={q.data?.provider?.slaReports.nodes ?? []} />
    </section>
  );
}
