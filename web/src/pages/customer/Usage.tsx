/** Usage from the indexer: daily spend and tokens, charges per batch with their receipts, SLA credits. */
import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { useConnection } from "wagmi";
import { useAppConfig } from "../../lib/config-context.tsx";
import { gql, type Page } from "../../lib/graphql.ts";
import { formatAmount } from "../../lib/usdc.ts";
import { LineChart } from "../../components/Chart.tsx";
import { VerifyReceiptButton, VerifyReceiptForm } from "../../components/VerifyReceipt.tsx";
import { DisputeForm } from "./Dispute.tsx";

type Point = { day: number; spend: string; promptTokens: string; completionTokens: string; requests: string };
type Entry = { gatewayId: number; batchId: string; index: number; model: string; requests: number; promptTokens: string; completionTokens: string; charge: string; skipped: boolean; settledAt: number };
type Credit = { id: string; amount: string; provider: string | null; timestamp: number; txHash: string };
type ReceiptRow = { id: string; customer: string; model: string; promptTokens: number; completionTokens: number; cost: string; status: number; servedAt: number };

const DAY = 86_400;
const STATUS = ["ok", "partial", "cancelled", "error"];

export function Usage() {
  const cfg = useAppConfig();
  const { address } = useConnection();
  const customer = address?.toLowerCase();
  const to = Math.floor(Date.now() / 1000 / DAY + 1) * DAY;
  const series = useQuery({
    queryKey: ["daily", customer],
    enabled: !!customer,
    refetchInterval: 10_000,
    queryFn: () => gql<{ dailySeries: Point[] }>(cfg.graphqlUrl, `query($c: String!, $from: Int!, $to: Int!) { dailySeries(from: $from, to: $to, customer: $c) { day spend promptTokens completionTokens requests } }`, { c: customer, from: to - 30 * DAY, to }),
  });
  const [cursor, setCursor] = useState<string | null>(null);
  const entries = useQuery({
    queryKey: ["entries", customer, cursor],
    enabled: !!customer,
    refetchInterval: 10_000,
    queryFn: () => gql<{ entries: Page<Entry> }>(cfg.graphqlUrl, `query($c: String!, $after: String) { entries(first: 20, after: $after, where: { customer: $c }) { nodes { gatewayId batchId index model requests promptTokens completionTokens charge skipped settledAt } pageInfo { endCursor hasNextPage } } }`, { c: customer, after: cursor }),
  });
  const credits = useQuery({
    queryKey: ["credits", customer],
    enabled: !!customer,
    queryFn: () => gql<{ customer: { totalSlaCredits: string; slaCredits: Page<Credit> } | null }>(cfg.graphqlUrl, `query($c: String!) { customer(address: $c) { totalSlaCredits slaCredits(first: 20) { nodes { id amount provider timestamp txHash } pageInfo { endCursor hasNextPage } } } }`, { c: customer }),
  });
  const [open, setOpen] = useState<{ gatewayId: number; batchId: string } | null>(null);
  const [disputing, setDisputing] = useState<Entry | null>(null);
  const pts = series.data?.dailySeries ?? [];
  return (
    <section>
      <h2>Usage</h2>
      {series.error && <p className="field-error">{(series.error as Error).message}</p>}
      <div className="grid">
        <LineChart bars yLabel="Spend per day (USDC)" series={[{ name: "spend", color: "#1d4ed8", points: pts.map((p) => ({ x: p.day, y: Number(BigInt(p.spend)) / 1e6 })) }]} />
        <LineChart bars yLabel="Tokens per day" series={[
          { name: "prompt", color: "#0891b2", points: pts.map((p) => ({ x: p.day, y: Number(p.promptTokens) })) },
          { name: "completion", color: "#7c3aed", points: pts.map((p) => ({ x: p.day, y: Number(p.completionTokens) })) },
        ]} />
      </div>
      <h3>Charges settled on-chain</h3>
      {entries.error && <p className="field-error">{(entries.error as Error).message}</p>}
      <table>
        <thead><tr><th>Settled</th><th>Batch</th><th className="num">Requests</th><th className="num">Tokens in / out</th><th className="num">Charge</th><th /></tr></thead>
        <tbody>
          {entries.data?.entries.nodes.map((e) => (
            <tr key={`${e.gatewayId}-${e.batchId}-${e.index}`}>
              <td>{new Date(e.settledAt * 1000).toLocaleString()}</td>
              <td>{e.gatewayId}/{e.batchId}</td>
              <td className="num">{e.requests}</td>
              <td className="num">{e.promptTokens} / {e.completionTokens}</td>
              <td className="num">{e.skipped ? "skipped" : `${formatAmount(BigInt(e.charge))} USDC`}</td>
              <td>
                <button className="link" onClick={() => setOpen({ gatewayId: e.gatewayId, batchId: e.batchId })}>Receipts</button>{" "}
                {!e.skipped && <button className="link" onClick={() => setDisputing(e)}>Dispute</button>}
              </td>
            </tr>
          ))}
          {entries.data?.entries.nodes.length === 0 && <tr><td colSpan={6} className="muted">No settled charges yet.</td></tr>}
        </tbody>
      </table>
      <div className="row">
        {cursor && <button className="secondary" onClick={() => setCursor(null)}>First page</button>}
        {entries.data?.entries.pageInfo.hasNextPage && <button className="secondary" onClick={() => setCursor(entries.data!.entries.pageInfo.endCursor)}>Next page</button>}
      </div>
      {disputing && <DisputeForm key={`${disputing.gatewayId}-${disputing.batchId}-${disputing.index}`} gatewayId={disputing.gatewayId} batchId={disputing.batchId} index={disputing.index} charge={BigInt(disputing.charge)} onClose={() => setDisputing(null)} />}
      {open && customer && <BatchReceipts gatewayId={open.gatewayId} batchId={open.batchId} customer={customer} />}
      <h3>Verify a receipt</h3>
      <VerifyReceiptForm />
      <h3>SLA credits received</h3>
      <p>Total: <strong data-testid="sla-total">{credits.data?.customer ? `${formatAmount(BigInt(credits.data.customer.totalSlaCredits))} USDC` : "0.00 USDC"}</strong></p>
      <table>
        <thead><tr><th>When</th><th>From provider</th><th className="num">Credit</th></tr></thead>
        <tbody>
          {credits.data?.customer?.slaCredits.nodes.map((c) => (
            <tr key={c.id}><td>{new Date(c.timestamp * 1000).toLocaleString()}</td><td><code>{c.provider}</code></td><td className="num">{formatAmount(BigInt(c.amount))} USDC</td></tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function BatchReceipts({ gatewayId, batchId, customer }: { gatewayId: number; batchId: string; customer: string }) {
  const cfg = useAppConfig();
  const q = useQuery({
    queryKey: ["batch-receipts", gatewayId, batchId],
    queryFn: () => gql<{ batch: { receipts: Page<ReceiptRow> } | null }>(cfg.graphqlUrl, `query($g: Int!, $b: BigInt!) { batch(gatewayId: $g, batchId: $b) { receipts(first: 200) { nodes { id customer model promptTokens completionTokens cost status servedAt } pageInfo { endCursor hasNextPage } } } }`, { g: gatewayId, b: batchId }),
  });
  const mine = q.data?.batch?.receipts.nodes.filter((r) => r.customer.toLowerCase() === customer) ?? [];
  return (
    <div className="card">
      <h3>Your receipts in batch {gatewayId}/{batchId}</h3>
      {q.error && <p className="field-error">{(q.error as Error).message}</p>}
      <table>
        <thead><tr><th>Receipt</th><th>Served</th><th className="num">Tokens</th><th className="num">Cost</th><th>Status</th><th /></tr></thead>
        <tbody>
          {mine.map((r) => (
            <tr key={r.id}>
              <td><code title={r.id}>{r.id.slice(0, 10)}…</code></td>
              <td>{new Date(r.servedAt * 1000).toLocaleString()}</td>
              <td className="num">{r.promptTokens} / {r.completionTokens}</td>
              <td className="num">{formatAmount(BigInt(r.cost) / 1_000_000n)} USDC</td>
              <td>{STATUS[r.status] ?? r.status}</td>
              <td><VerifyReceiptButton id={r.id} /></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
