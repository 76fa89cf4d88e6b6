/**
 * The disputes of the connected account (as customer or as provider), each with the arbiter's
 * deadline, and a "Close expired dispute" button once the deadline has passed unresolved: anyone may
 * then call Settlement.expireDispute, which closes it as rejected (nothing refunded, the provider's
 * stake lock released).
 */
import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { useBlock, useConfig, useConnection } from "wagmi";
import { writeContract } from "wagmi/actions";
import { useAppConfig } from "../lib/config-context.tsx";
import { abis } from "../lib/abis.ts";
import { gql, type Page } from "../lib/graphql.ts";
import { useTx } from "../lib/tx.ts";
import { formatAmount } from "../lib/usdc.ts";
import { countdown, useNow } from "../lib/time.ts";
import { TxStatus } from "./TxStatus.tsx";

export type DisputeStatus = "OPEN" | "UPHELD" | "REJECTED" | "EXPIRED";
export type DisputeItem = {
  id: string; gatewayId: number; batchId: string; entryIndex: number; amount: string; status: DisputeStatus;
  refund: string | null; openedAt: number; resolveBy: number; customer: string; provider: string;
};

/** Open and past its deadline: the arbiter can no longer decide, anyone may close it. Mirrors the contract's `block.timestamp >= resolveBy`. */
export const canExpire = (d: Pick<DisputeItem, "status" | "resolveBy">, now: number): boolean => d.status === "OPEN" && now >= d.resolveBy;

/** The deadline in words, as the dispute's parties need it. */
export function deadlineText(d: Pick<DisputeItem, "status" | "resolveBy">, now: number): string {
  const at = new Date(d.resolveBy * 1000).toLocaleString();
  if (d.status === "EXPIRED") return `Not decided by ${at}: closed as rejected.`;
  if (d.status !== "OPEN") return `Decided (deadline was ${at}).`;
  if (canExpire(d, now)) return `The arbiter's deadline passed at ${at}: anyone may now close it as rejected.`;
  return `The arbiter must decide by ${at} (in ${countdown(d.resolveBy - now)}).`;
}

/** The table itself: no wallet or network, so tests render it with a fixed clock. */
export function DisputeTable({ rows, now, party, busy, onExpire }: {
  rows: DisputeItem[]; now: number; party: "customer" | "provider"; busy: boolean; onExpire(id: string): void;
}) {
  return (
    <table>
      <thead><tr><th>#</th><th>Entry</th><th>{party === "customer" ? "Provider" : "Customer"}</th><th className="num">Disputed</th><th>Status</th><th>Deadline</th><th className="num">Refund</th><th /></tr></thead>
      <tbody>
        {rows.map((d) => (
          <tr key={d.id} data-testid={`dispute-${d.id}`}>
            <td>{d.id}</td>
            <td>{d.gatewayId}/{d.batchId}#{d.entryIndex}</td>
            <td><code>{(party === "customer" ? d.provider : d.customer).slice(0, 10)}…</code></td>
            <td className="num">{formatAmount(BigInt(d.amount))}</td>
            <td>{d.status.toLowerCase()}</td>
            <td data-testid="dispute-deadline">{deadlineText(d, now)}</td>
            <td className="num">{d.refund ? formatAmount(BigInt(d.refund)) : "—"}</td>
            <td>{canExpire(d, now) && <button disabled={busy} onClick={() => onExpire(d.id)}>Close expired dispute</button>}</td>
          </tr>
        ))}
        {rows.length === 0 && <tr><td colSpan={8} className="muted">No disputes.</td></tr>}
      </tbody>
    </table>
  );
}

const QUERY = `query($where: DisputeFilter, $after: String) { disputes(first: 20, after: $after, where: $where) {
  nodes { id gatewayId batchId entryIndex amount status refund openedAt resolveBy customer provider } pageInfo { endCursor hasNextPage } } }`;

export function MyDisputes({ party }: { party: "customer" | "provider" }) {
  const cfg = useAppConfig();
  const wagmi = useConfig();
  const { address } = useConnection();
  const me = address?.toLowerCase();
  const [cursor, setCursor] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ["disputes", party, me, cursor],
    enabled: !!me,
    refetchInterval: 10_000,
    queryFn: () => gql<{ disputes: Page<DisputeItem> }>(cfg.graphqlUrl, QUERY, { where: { [party]: me }, after: cursor }),
  });
  // The contract compares with the block's time, which can run ahead of this browser's clock (a
  // devnet warps it): the next block is at least the latest one's time.
  const block = useBlock({ query: { refetchInterval: 5_000 } });
  const now = Math.max(useNow(), Number(block.data?.timestamp ?? 0));
  const tx = useTx();
  const expire = (id: string) =>
    tx.run(`Close dispute #${id}`, () =>
      writeContract(wagmi, { address: cfg.contracts.settlement, abi: abis.settlement, functionName: "expireDispute", args: [BigInt(id)] } as Parameters<typeof writeContract>[1]),
    );
  const page = list.data?.disputes;
  return (
    <section data-testid={`${party}-disputes`}>
      <h2>Disputes</h2>
      <p className="muted">The arbiter has until each dispute's deadline to decide. After it, anyone may close the dispute as rejected: nothing is refunded and the provider's locked stake is released.</p>
      {list.error && <p className="field-error" role="alert">{list.error.message}</p>}
      {page && <DisputeTable rows={page.nodes} now={now} party={party} busy={tx.busy} onExpire={expire} />}
      {page && (cursor || page.pageInfo.hasNextPage) && (
        <div className="row">
          <button className="secondary" disabled={!cursor} onClick={() => setCursor(null)}>First page</button>
          <button className="secondary" disabled={!page.pageInfo.hasNextPage} onClick={() => setCursor(page.pageInfo.endCursor)}>Next page</button>
        </div>
      )}
      <TxStatus state={tx.state} />
    </section>
  );
}
