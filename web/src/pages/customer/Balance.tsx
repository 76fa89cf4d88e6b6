/**
 * The customer's money in buckets: spendable now, reserved by requests in flight, charged but not yet
 * settled on-chain, and pending withdrawal with its unlock time. On-chain figures come from
 * Settlement; in-flight and unsettled amounts only the gateway knows (after sign-in).
 */
import { useConnection, useReadContract } from "wagmi";
import { useQuery } from "@tanstack/react-query";
import type { Address } from "viem";
import { useAppConfig } from "../../lib/config-context.tsx";
import { abis } from "../../lib/abis.ts";
import { formatAmount } from "../../lib/usdc.ts";
import { gateway } from "../../lib/gateway.ts";
import { useSession } from "../../components/Session.tsx";
import { Stat } from "../../components/Stat.tsx";

export function useEscrow(address: Address | undefined) {
  const cfg = useAppConfig();
  const r = useReadContract({ address: cfg.contracts.settlement, abi: abis.settlement, functionName: "accountOf", args: address ? [address] : undefined, query: { enabled: !!address, refetchInterval: 3_000 } });
  const d = r.data as readonly [bigint, bigint, number] | undefined;
  return d ? { available: d[0], pending: d[1], unlockAt: Number(d[2]) } : undefined;
}

export function BalanceBuckets() {
  const cfg = useAppConfig();
  const { address } = useConnection();
  const escrow = useEscrow(address);
  const { session } = useSession();
  const account = useQuery({ queryKey: ["gw-account", session], queryFn: () => gateway.account(cfg.gatewayUrl, session!), enabled: !!session, refetchInterval: 3_000 });
  const a = account.data;
  const usd = (v: bigint | string | undefined) => (v === undefined ? "…" : `${formatAmount(BigInt(v))} USDC`);
  const reserved = a?.reserved !== undefined ? BigInt(a.reserved) : undefined;
  const unsettled = a?.unsettled !== undefined ? BigInt(a.unsettled) + BigInt(a.debt ?? "0") : undefined;
  const spendable = a?.spendable !== undefined ? BigInt(a.spendable) : escrow?.available;
  return (
    <section>
      <h2>Balance</h2>
      <div className="grid">
        <Stat label="Available to spend" value={usd(spendable)} testId="bal-available" hint={a ? "escrow less reserved and unsettled" : "on-chain escrow; sign in to see what is in flight"} />
        <Stat label="Reserved by requests in flight" value={session ? usd(reserved ?? 0n) : "sign in"} testId="bal-reserved" />
        <Stat label="Charged, not yet settled" value={session ? usd(unsettled ?? 0n) : "sign in"} testId="bal-unsettled" hint="settles on-chain with the next batch" />
        <Stat
          label="Pending withdrawal"
          value={usd(escrow?.pending)}
          testId="bal-pending"
          hint={escrow && escrow.pending > 0n ? `unlocks ${new Date(escrow.unlockAt * 1000).toLocaleString()}` : undefined}
        />
      </div>
      <p className="muted">On-chain escrow: {usd(escrow?.available)} · tier: {a?.tier ?? "—"} · network: {cfg.chainName}</p>
    </section>
  );
}
