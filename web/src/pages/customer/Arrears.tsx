/**
 * SLA credit still owed to the customer: what providers' stake could not pay yet (the indexer's
 * `arrearsDue`), with each report still owing it and a "Collect now" for each.
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

const QUERY = `query($c: String!) { customer(address: $c) { arrearsDue arrears(open: true, first: 50) { nodes { ${ARREARS_FIELDS} } pageInfo { endCursor hasNextPage } } } }`;

export function ArrearsDue() {
  const cfg = useAppConfig();
  const { address } = useConnection();
  const me = address?.toLowerCase();
  const q = useQuery({
    queryKey: ["customer-arrears", me],
    enabled: !!me,
    refetchInterval: 5_000,
    queryFn: () => gql<{ customer: { arrearsDue: string; arrears: Page<ArrearsItem> } | null }>(cfg.graphqlUrl, QUERY, { c: me }),
  });
  const { collect, state, busy } = useCollectArrears(me);
  const c = q.data?.customer;
  const rows = c?.arrears.nodes ?? [];
  return (
    <section data-testid="customer-arrears">
      <h2>SLA credit still owed to you</h2>
      <Stat label="Owed to you by providers" value={q.data ? `${formatAmount(BigInt(c?.arrearsDue ?? "0"))} USDC` : "…"} testId="arrears-due" />
      <p className="muted">
        When a provider misses its SLA, its stake pays you a credit into your balance. If its free stake ran short, the rest is owed and locked in its stake. It is paid when the provider stakes more: anyone, you included, can then collect it. Collecting pays what the provider's free stake allows now.
      </p>
      {q.error && <p className="field-error" role="alert">{(q.error as Error).message}</p>}
      {rows.length > 0 && <ArrearsTable rows={rows} customer={me} collect={(a) => <CollectNow item={a} customer={me} refreshedAt={q.dataUpdatedAt} busy={busy} onCollect={collect} />} />}
      {c?.arrears.pageInfo.hasNextPage && <p className="muted">Showing the 50 newest reports that owe you.</p>}
      <TxStatus state={state} />
    </section>
  );
}
