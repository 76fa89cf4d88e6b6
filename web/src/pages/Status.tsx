/**
 * Service status: live per-provider availability and p95 TTFT sampled from the gateway while the
 * page is open, per-model worker health, and the on-chain SLA history of every provider.
 */
import { Web3 } from "../web3.tsx";
import { useEffect, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { useAppConfig } from "../lib/config-context.tsx";
import { gateway, type GatewayStatus } from "../lib/gateway.ts";
import { gql, type Page } from "../lib/graphql.ts";
import { LineChart, type Series } from "../components/Chart.tsx";
import { SLA_FIELDS, type SlaRow } from "./provider/Sla.tsx";

const COLORS = ["#1d4ed8", "#b45309", "#15803d", "#7c3aed", "#be123c", "#0891b2"];
type Sample = { t: number; provider: string; availability: number; p95: number };

function sliOf(s: Record<string, unknown> | null | undefined) {
  const ttft = (s?.ttftMs ?? {}) as { p95?: number };
  return { availability: typeof s?.availability === "number" ? s.availability * 100 : 100, p95: ttft.p95 ?? 0 };
}

export function seriesBy<T>(rows: T[], key: (r: T) => string, x: (r: T) => number, y: (r: T) => number): Series[] {
  const groups = new Map<string, { x: number; y: number }[]>();
  for (const r of rows) {
    const k = key(r);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push({ x: x(r), y: y(r) });
  }
  return [...groups.entries()].map(([name, points], i) => ({ name: name.length > 12 ? `${name.slice(0, 8)}…` : name, color: COLORS[i % COLORS.length]!, points: points.sort((a, b) => a.x - b.x) }));
}

function StatusPageContent() {
  const cfg = useAppConfig();
  const live = useQuery({ queryKey: ["gw-status"], queryFn: () => gateway.status(cfg.gatewayUrl), refetchInterval: 5_000 });
  const [samples, setSamples] = useState<Sample[]>([]);
  useEffect(() => {
    if (!live.data) return;
    const t = Math.floor(Date.now() / 1000);
    setSamples((old) => [...old, ...live.data.providers.map((p) => ({ t, provider: p.provider, ...sliOf(p.sli as Record<string, unknown>) }))].slice(-600));
  }, [live.data]);
  const history = useQuery({
    queryKey: ["sla-history"],
    refetchInterval: 30_000,
    queryFn: () => gql<{ slaReports: Page<SlaRow & { provider: string }> }>(cfg.graphqlUrl, `{ slaReports(first: 200) { nodes { provider ${SLA_FIELDS} } pageInfo { endCursor hasNextPage } } }`),
  });
  const reports = history.data?.slaReports.nodes ?? [];
  const clock = (x: number) => new Date(x * 1000).toLocaleTimeString();
  return (
    <>
      <h1>Status</h1>
      <section>
        <h2>Gateway</h2>
        {live.error ? <p className="bad" role="alert">Gateway unreachable: {(live.error as Error).message}</p> : live.data ? <p className="ok" data-testid="gateway-status">Gateway {live.data.status}: {live.data.workers.filter((w) => w.alive).length} of {live.data.workers.length} workers serving</p> : <p className="muted">Checking…</p>}
        {live.data && <ModelTable status={live.data} />}
      </section>
      <section>
        <h2>Live, since this page opened</h2>
        <div className="grid">
          <LineChart yLabel="Availability per provider (%)" xFormat={clock} series={seriesBy(samples, (s) => s.provider, (s) => s.t, (s) => s.availability)} />
          <LineChart yLabel="p95 time to first token per provider (ms)" xFormat={clock} series={seriesBy(samples, (s) => s.provider, (s) => s.t, (s) => s.p95)} />
        </div>
      </section>
      <section>
        <h2>SLA windows reported on-chain</h2>
        {history.error && <p className="field-error">{(history.error as Error).message}</p>}
        <div className="grid">
          <LineChart yLabel="Availability per provider (%)" series={seriesBy(reports, (r) => r.provider, (r) => r.windowEnd, (r) => r.availabilityPpm / 10_000)} xFormat={(x) => new Date(x * 1000).toLocaleString()} />
          <LineChart yLabel="p95 TTFT per provider (ms)" series={seriesBy(reports, (r) => r.provider, (r) => r.windowEnd, (r) => r.p95TtftMs)} xFormat={(x) => new Date(x * 1000).toLocaleString()} />
        </div>
      </section>
    </>
  );
}

function ModelTable({ status }: { status: GatewayStatus }) {
  const models = new Map<string, { providers: Set<string>; alive: number; total: number; ttft: number[] }>();
  for (const w of status.workers) {
    for (const m of w.models) {
      const e = models.get(m) ?? { providers: new Set(), alive: 0, total: 0, ttft: [] };
      e.providers.add(w.provider);
      e.total += 1;
      if (w.alive && !w.draining) {
        e.alive += 1;
        if (w.ttftEwmaMs > 0) e.ttft.push(w.ttftEwmaMs);
      }
      models.set(m, e);
    }
  }
  return (
    <table>
      <thead><tr><th>Model</th><th className="num">Providers</th><th className="num">Workers serving</th><th className="num">Best TTFT (EWMA)</th></tr></thead>
      <tbody>
        {[...models.entries()].map(([m, e]) => (
          <tr key={m} data-testid="model-status"><td>{m}</td><td className="num">{e.providers.size}</td><td className="num">{e.alive} / {e.total}</td><td className="num">{e.ttft.length ? `${Math.min(...e.ttft)} ms` : "—"}</td></tr>
        ))}
        {models.size === 0 && <tr><td colSpan={4} className="muted">No worker connected.</td></tr>}
      </tbody>
    </table>
  );
}

export default function StatusPage() {
  return <Web3><StatusPageContent /></Web3>;
}
