/** Stake (approve when needed, then stake), unbond with a countdown, withdraw once unlocked, rebond. */
import { useState } from "react";
import { useConfig, useConnection, useReadContract } from "wagmi";
import { readContract, waitForTransactionReceipt, writeContract } from "wagmi/actions";
import { useAppConfig } from "../../lib/config-context.tsx";
import { abis } from "../../lib/abis.ts";
import { useTx } from "../../lib/tx.ts";
import { formatAmount } from "../../lib/usdc.ts";
import { TxStatus } from "../../components/TxStatus.tsx";
import { AmountInput, unitsOf } from "../../components/AmountInput.tsx";
import { Stat } from "../../components/Stat.tsx";
import { countdown, useNow } from "../../lib/time.ts";

export function Stake({ enabled }: { enabled: boolean }) {
  const cfg = useAppConfig();
  const wagmi = useConfig();
  const { address } = useConnection();
  const now = useNow();
  const s = useReadContract({ address: cfg.contracts.providerStaking, abi: abis.staking, functionName: "stakeOf", args: address ? [address] : undefined, query: { enabled: !!address, refetchInterval: 3_000 } });
  const min = useReadContract({ address: cfg.contracts.providerStaking, abi: abis.staking, functionName: "minStake" });
  const withdrawable = useReadContract({ address: cfg.contracts.providerStaking, abi: abis.staking, functionName: "withdrawable", args: address ? [address] : undefined, query: { enabled: !!address, refetchInterval: 3_000 } });
  const active = useReadContract({ address: cfg.contracts.providerStaking, abi: abis.staking, functionName: "isActive", args: address ? [address] : undefined, query: { enabled: !!address, refetchInterval: 3_000 } });
  const [bonded, unbonding, unlockAt, jailed, locked] = (s.data as readonly [bigint, bigint, number, boolean, bigint] | undefined) ?? [];
  const [stakeAmt, setStakeAmt] = useState("");
  const [unbondAmt, setUnbondAmt] = useState("");
  const tx = useTx();
  const stakeUnits = unitsOf(stakeAmt);
  const unbondUnits = unitsOf(unbondAmt);
  const left = unlockAt ? Number(unlockAt) - now : 0;
  const write = (functionName: string, args: readonly unknown[] = []) =>
    writeContract(wagmi, { address: cfg.contracts.providerStaking, abi: abis.staking, functionName, args } as Parameters<typeof writeContract>[1]);

  const stake = () =>
    address && stakeUnits &&
    tx.run("Stake", async () => {
      // Staking pulls USDC with transferFrom: approve first when the allowance is short (a second wallet prompt).
      const allowance = (await readContract(wagmi, { address: cfg.contracts.usdc, abi: abis.usdc, functionName: "allowance", args: [address, cfg.contracts.providerStaking] })) as bigint;
      if (allowance < stakeUnits) {
        const approve = await writeContract(wagmi, { address: cfg.contracts.usdc, abi: abis.usdc, functionName: "approve", args: [cfg.contracts.providerStaking, stakeUnits] } as Parameters<typeof writeContract>[1]);
        const r = await waitForTransactionReceipt(wagmi, { hash: approve });
        if (r.status !== "success") throw new Error("The USDC approval reverted.");
      }
      return write("stake", [stakeUnits]);
    }).then((ok) => ok && setStakeAmt(""));

  return (
    <section>
      <h2>Stake</h2>
      <div className="grid">
        <Stat label="Bonded" value={bonded !== undefined ? `${formatAmount(bonded)} USDC` : "…"} testId="stake-bonded" hint={min.data !== undefined ? `minimum to be routable: ${formatAmount(min.data as bigint)} USDC` : undefined} />
        <Stat label="Unbonding" value={unbonding !== undefined ? `${formatAmount(unbonding)} USDC` : "…"} testId="stake-unbonding" hint={unbonding ? (left > 0 ? `unlocks in ${countdown(left)}` : "unlocked") : undefined} />
        <Stat label="Locked by open disputes and SLA arrears" value={locked !== undefined ? `${formatAmount(locked)} USDC` : "…"} testId="stake-locked" />
        <Stat label="Routable" value={active.data === undefined ? "…" : active.data ? "yes" : jailed ? "no (jailed)" : "no"} testId="stake-active" />
      </div>
      <div className="row">
        <AmountInput label="Stake amount" value={stakeAmt} onChange={setStakeAmt} disabled={tx.busy} />
        <button disabled={!enabled || !stakeUnits || tx.busy} onClick={stake}>Stake</button>
      </div>
      <div className="row">
        <AmountInput label="Unbond amount" value={unbondAmt} onChange={setUnbondAmt} disabled={tx.busy} />
        <button disabled={!unbondUnits || tx.busy} onClick={() => unbondUnits && tx.run("Unbond", () => write("unbond", [unbondUnits])).then((ok) => ok && setUnbondAmt(""))}>Unbond</button>
        <button className="secondary" disabled={!unbondUnits || tx.busy || !unbonding} onClick={() => unbondUnits && tx.run("Rebond", () => write("rebond", [unbondUnits]))}>Rebond</button>
        <button disabled={tx.busy || left > 0 || !(withdrawable.data as bigint | undefined)} onClick={() => tx.run("Withdraw stake", () => write("withdraw"))}>
          Withdraw {withdrawable.data ? `${formatAmount(withdrawable.data as bigint)} USDC` : ""}
        </button>
        {jailed && <button className="warn" disabled={tx.busy} onClick={() => tx.run("Unjail", () => write("unjail"))}>Unjail</button>}
      </div>
      <TxStatus state={tx.state} />
    </section>
  );
}
