/**
 * Open SLA arrears, one row per report, each with "Collect now": SlaCredits.collectArrears with the
 * report's lists exactly as the indexer served them. Anyone may collect; it pays what the
 * provider's free stake allows. Before sending, each row simulates the call and says what it would
 * pay; the confirmation says what was paid and what is still owed.
 */
import { useId, type ReactNode } from "react";
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import type { Address } from "viem";
import { useConfig, useConnection } from "wagmi";
import { simulateContract, writeContract } from "wagmi/actions";
import { useAppConfig } from "../lib/config-context.tsx";
import { abis } from "../lib/abis.ts";
import { useTx } from "../lib/tx.ts";
import { formatAmount } from "../lib/usdc.ts";
import { arrearsAfter, collectArgs, describeCollection, describePreview, owedTo, type ArrearsItem, type CollectPreview } from "../lib/arrears.ts";

const windowText = (a: ArrearsItem) => `${new Date(a.report.windowStart * 1000).toLocaleString()} – ${new Date(a.report.windowEnd * 1000).toLocaleTimeString()}`;

/**
 * The table itself: no wallet or network, so tests render it as it is. `customer` adds "owed to
 * you"; `collect` fills each row's last cell (the page gives it <CollectNow>).
 */
export function ArrearsTable({ rows, customer, collect }: { rows: ArrearsItem[]; customer?: string; collect(a: ArrearsItem): ReactNode }) {
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
            <td>{collect(a)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * "Collect now" and, beside it, what it would pay (which also describes the button). Disabled when
 * collecting would be wasted gas, and while a transaction is in flight.
 */
export function CollectButton({ preview, busy, onCollect }: { preview: CollectPreview; busy: boolean; onCollect(): void }) {
  const id = useId();
  return (
    <>
      <button disabled={busy || !preview.canCollect} aria-describedby={id} onClick={onCollect}>Collect now</button>{" "}
      <span id={id} className="muted" data-testid="collect-preview">{preview.text}</span>
    </>
  );
}

/**
 * What collecting `item` would pay now: one eth_call of collectArrears (to the configured RPC, never
 * the wallet) per refresh of the lists. `refreshedAt` (the list query's dataUpdatedAt) is part of the
 * key, so each refresh asks again (stake may have changed while the lists did not); after a
 * transaction the page re-reads everything, so it asks again then too. A revert is an answer, kept
 * as data, so the last answer stays on screen while the next one is asked.
 */
function useCollectPreview(item: ArrearsItem, refreshedAt: number, customer?: string): CollectPreview {
  const cfg = useAppConfig();
  const wagmi = useConfig();
  const { address } = useConnection();
  // Anyone may collect and the result does not depend on the caller, so without a connected wallet
  // the report's first customer stands in: wagmi's simulateContract then needs no connector (its
  // useSimulateContract hook would stay disabled instead), and the call goes through the config's RPC.
  const account = (address ?? item.customers[0]) as Address;
  const q = useQuery({
    queryKey: ["collect-preview", item.reportKey, item.customers, item.amounts, account, refreshedAt],
    queryFn: () =>
      simulateContract(wagmi, { address: cfg.contracts.slaCredits, abi: abis.sla, functionName: "collectArrears", args: collectArgs(item), account }).then(
        (r) => ({ paid: r.result }),
        (error: unknown) => ({ error }),
      ),
    placeholderData: keepPreviousData,
  });
  return describePreview(q.data ?? { pending: true }, item, customer);
}

/** One row's "Collect now", with what it would pay from a simulation. */
export function CollectNow({ item, customer, refreshedAt, busy, onCollect }: { item: ArrearsItem; customer?: string; refreshedAt: number; busy: boolean; onCollect(a: ArrearsItem): void }) {
  const preview = useCollectPreview(item, refreshedAt, customer);
  return <CollectButton preview={preview} busy={busy} onCollect={() => onCollect(item)} />;
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
