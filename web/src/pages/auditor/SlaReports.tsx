/** Every SLA report with the credit it owed, what stake paid at once, and its arrears still open. */
import { formatAmount } from "../../lib/usdc.ts";
import { ErrorLine, usePaged } from "./paging.tsx";

export type SlaReportRow = {
  reportKey: string; provider: string; windowStart: number; windowEnd: number; availabilityPpm: number; p95TtftMs: number;
  creditOwed: string; creditPaid: string; arrears: { owed: string; customers: string[] } | null;
};

/** A report's arrears in words: none (paid in full at once), paid off later, or still owed. */
export function arrearsText(a: SlaReportRow["arrears"]): string {
  if (!a) return "—";
  if (BigInt(a.owed) === 0n) return "paid off";
  return `${formatAmount(BigInt(a.owed))} USDC to ${a.customers.length} customer${a.customers.length === 1 ? "" : "s"}`;
}

export function SlaReportTable({ rows }: { rows: SlaReportRow[] }) {
  return (
    <table>
      <thead><tr><th>Window</th><th>Provider</th><th className="num">Availability / p95 TTFT</th><th className="num">Credit owed</th><th className="num">Paid at report</th><th className="num">Arrears open</th></tr></thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.reportKey} data-testid="sla-report-row">
            <td title={r.reportKey}>{new Date(r.windowStart * 1000).toLocaleString()} – {new Date(r.windowEnd * 1000).toLocaleTimeString()}</td>
            <td><code>{r.provider.slice(0, 10)}…</code></td>
            <td className="num">{(r.availabilityPpm / 10_000).toFixed(2)} % / {r.p95TtftMs} ms</td>
            <td className="num">{formatAmount(BigInt(r.creditOwed))}</td>
            <td className="num">{formatAmount(BigInt(r.creditPaid))}</td>
            <td className={`num${r.arrears && BigInt(r.arrears.owed) > 0n ? " bad" : ""}`} data-testid="sla-report-arrears">{arrearsText(r.arrears)}</td>
          </tr>
        ))}
        {rows.length === 0 && <tr><td colSpan={6} className="muted">No SLA reports yet.</td></tr>}
      </tbody>
    </table>
  );
}

export function SlaReports() {
  const q = usePaged<SlaReportRow>(
    "sla-reports",
    `query($first: Int, $after: String) { slaReports(first: $first, after: $after) { nodes { reportKey provider windowStart windowEnd availabilityPpm p95TtftMs creditOwed creditPaid arrears { owed customers } } pageInfo { endCursor hasNextPage } } }`,
    (d) => d.slaReports,
  );
  return (
    <section>
      <h2>SLA reports</h2>
      <p className="muted">A credit the provider's stake could not pay in full at once leaves arrears, locked in its stake; anyone may collect them once the provider stakes more (“paid off” once collected).</p>
      <ErrorLine error={q.error} />
      {q.data && <SlaReportTable rows={q.rows} />}
      {q.pager}
    </section>
  );
}
