/** Earnings vest when the dispute window closes; vested earnings are claimed (pulled) by the provider. */
import { useConfig, useConnection, useReadContract } from "wagmi";
import { writeContract } from "wagmi/actions";
import { useAppConfig } from "../../lib/config-context.tsx";
import { abis } from "../../lib/abis.ts";
import { useTx } from "../../lib/tx.ts";
import { formatAmount } from "../../lib/usdc.ts";
import { TxStatus } from "../../components/TxStatus.tsx";
import { Stat } from "../../components/Stat.tsx";
import { countdown, useNow } from "../../lib/time.ts";

export function Earnings() {
  const cfg = useAppConfig();
  const wagmi = useConfig();
  const { address } = useConnection();
  const now = useNow();
  const e = useReadContract({ address: cfg.contracts.settlement, abi: abis.settlement, functionName: "earningsOf", args: address ? [address] : undefined, query: { enabled: !!address, refetchInterval: 3_000 } });
  const [claimable, vesting, nextVestAt] = (e.data as readonly [bigint, bigint, number] | undefined) ?? [];
  const tx = useTx();
  return (
    <section>
      <h2>Earnings</h2>
      <div className="grid">
        <Stat label="Claimable now" value={claimable !== undefined ? `${formatAmount(claimable)} USDC` : "…"} testId="earn-claimable" />
        <Stat label="Vesting (dispute window open)" value={vesting !== undefined ? `${formatAmount(vesting)} USDC` : "…"} testId="earn-vesting" hint={nextVestAt ? `next vests in ${countdown(Number(nextVestAt) - now)}` : undefined} />
      </div>
      <button disabled={tx.busy || !claimable} onClick={() => tx.run("Claim", () => writeContract(wagmi, { address: cfg.contracts.settlement, abi: abis.settlement, functionName: "claim" } as Parameters<typeof writeContract>[1]))}>
        Claim {claimable ? `${formatAmount(claimable)} USDC` : ""}
      </button>
      <TxStatus state={tx.state} />
    </section>
  );
}
