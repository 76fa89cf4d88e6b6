/**
 * The provider's SLA arrears: credit its stake could not pay when a report came in (the indexer's
 * `arrearsOwed`, equal to SlaCredits.arrearsOf). That amount is locked in its stake; staking more
 * lets each report be collected, which the provider can do right here after staking.
 */
import { useQuery } from "@tanstack/react-query";
import { useConnection } from "wagmi";
import { useAppConfig } from "../../lib/config-context.tsx";
import { gql, type Page } from "../../lib/graphql.ts";
import { formatAmount } from "../../lib/usdc.ts";
import { ARREARS_FIELDS, type ArrearsItem } from "../../lib/arrears.ts";
import { ArrearsTable, CollectNow, useCollectArrears } from "../../components/Arrears.tsx";
import { Stat } from "../../components/Stat.tsx";
import { TxStatus } from "../../components/TxStatus.tsx";

const QUERY = `query($p: String!) { provider(address: $p) { arrearsOwed } arrears(first: 50, where: { provider: $p, open: true }) { nodes { ${ARREARS_FIELDS} } pageInfo { endCursor hasNextPage } } }`;

export function StakeArrears() {
  const cfg = useAppConfig();
  const { address } = useConnection();
  const me = address?.toLowerCase();
  const q = useQuery({
    queryKey: ["provider-arrears", me],
    enabled: !!me,
    refetchInterval: 5_000,
    queryFn: () => gql<{ provider: { arrearsOwed: string } | null; arrears: Page<ArrearsItem> }>(cfg.graphqlUrl, QUERY, { p: me }),
  });
  const { collect, state, busy } = useCollectArrears();
  const rows = q.data?.arrears.nodes ?? [];
  return (
    <section data-testid="provider-arrears">
      <h2>SLA arrears</h2>
      <Stat label="SLA credit you still owe" value={q.data ? `${formatAmount(BigInt(q.data.provider?.arrearsOwed ?? "0"))} USDC` : "…"} testId="arrears-owed" />
      <p className="muted">
        When your free stake could not pay an SLA credit in full, the rest is owed to your customers. That amount is locked in your stake: you cannot withdraw it until it is paid. Stake more (above), then collect each report below to pay it; anyone, your customers included, may also collect. Collecting pays what your free stake allows, pro rata when it is still short.
      </p>
      {q.error && <p className="field-error" role="alert">{(q.error as Error).message}</p>}
      {rows.length > 0 ? <ArrearsTable rows={rows} collect={(a) => <CollectNow item={a} refreshedAt={q.dataUpdatedAt} busy={busy} onCollect={collect} />} /> : q.data && <p>Nothing owed: every SLA credit was paid in full.</p>}
      {q.data?.arrears.pageInfo.hasNextPage && <p className="muted">Showing the 50 newest reports in arrears.</p>}
      <TxStatus state={state} />
    </section>
  );
}
