/**
 * Open SLA arrears, one row per report, each with "Collect now": SlaCredits.collectArrears with the
 * report's lists exactly as the indexer served them. Anyone may collect; it pays what the
 * provider's free stake allows, and the confirmation says what was paid and what is still owed.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useConfig } from "wagmi";
import { writeContract } from "wagmi/actions";
import { useAppConfig } from "../lib/config-context.tsx";
import { abis } from "../lib/abis.ts";
import { useTx } from "../lib/tx.ts";
import { formatAmount } from "../lib/usdc.ts";
import { arrearsAfter, collectArgs, describeCollection, owedTo, type ArrearsItem } from "../lib/arrears.ts";

const windowText = (a: ArrearsItem) => `${new Date(a.report.windowStart * 1000).toLocaleString()} – ${new Date(a.report.windowEnd * 1000).toLocaleTimeString()}`;

/** The table itself: no wallet or network, so tests render it as it is. `customer` adds "owed to you". */
export function ArrearsTable({ rows, customer, busy, onCollect }: { rows: ArrearsItem[]; customer?: string; busy: boolean; onCollect(a: ArrearsItem): void }) {
  return (
    <table>
      <thead>
        <tr>
          <th>SLA window</th>
          <th>{customer ? "Provider" : "Customers"}</th>
          {customer && <th className="num">Owed to you</th>}
          <th className="num">Owed on the report</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {rows.map((a) => (
          <tr key={a.reportKey} data-testid="arrears-row">
            <td title={a.reportKey}>{windowText(a)}</td>
            <td>{customer ? <code>{a.provider.slice(0, 10)}…</code> : a.customers.length}</td>
            {customer && <td className="num">{formatAmount(owedTo(a, customer))} USDC</td>}
            <td className="num">{formatAmount(BigInt(a.owed))} USDC</td>
            <td><button disabled={busy} onClick={() => onCollect(a)}>Collect now</button></td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * Send collectArrears for one report; the outcome is told to `customer` when given. A refused
 * collection re-reads the lists: they may have changed since the page read them.
 */
export function useCollectArrears(customer?: string) {
  const cfg = useAppConfig();
  const wagmi = useConfig();
  const queryClient = useQueryClient();
  const tx = useTx();
  const collect = (a: ArrearsItem) =>
    void tx.run(
      "Collect SLA arrears",
      () => writeContract(wagmi, { address: cfg.contracts.slaCredits, abi: abis.sla, functionName: "collectArrears", args: collectArgs(a) } as Parameters<typeof writeContract>[1]),
      (receipt) => {
        const after = arrearsAfter(receipt, a.reportKey);
        return after ? describeCollection(a, after, customer) : "Confirmed, but the transaction carries no arrears change for this report.";
      },
    ).then((ok) => {
      if (!ok) void queryClient.invalidateQueries();
    });
  return { collect, state: tx.state, busy: tx.busy };
}
