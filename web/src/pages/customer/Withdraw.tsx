/** Withdrawals wait a delay (longer than settlement lag); request, then complete once unlocked. */
import { useState } from "react";
import { useConfig, useConnection, useReadContract } from "wagmi";
import { writeContract } from "wagmi/actions";
import { useAppConfig } from "../../lib/config-context.tsx";
import { abis } from "../../lib/abis.ts";
import { useTx } from "../../lib/tx.ts";
import { formatAmount } from "../../lib/usdc.ts";
import { AmountInput, unitsOf } from "../../components/AmountInput.tsx";
import { TxStatus } from "../../components/TxStatus.tsx";
import { useEscrow } from "./Balance.tsx";
import { countdown, useNow } from "../../lib/time.ts";

export function Withdraw() {
  const cfg = useAppConfig();
  const wagmi = useConfig();
  const { address } = useConnection();
  const escrow = useEscrow(address);
  const delay = useReadContract({ address: cfg.contracts.settlement, abi: abis.settlement, functionName: "withdrawalDelay" });
  const now = useNow();
  const [amount, setAmount] = useState("");
  const request = useTx();
  const complete = useTx();
  const units = unitsOf(amount);
  const busy = request.busy || complete.busy;
  const locked = escrow ? escrow.unlockAt - now : 0;
  const send = (fn: "requestWithdrawal" | "withdraw" | "cancelWithdrawal", args: readonly bigint[] = []) => () =>
    writeContract(wagmi, { address: cfg.contracts.settlement, abi: abis.settlement, functionName: fn, args } as Parameters<typeof writeContract>[1]);
  return (
    <section>
      <h2>Withdraw</h2>
      <p className="muted">
        A withdrawal waits {delay.data !== undefined ? countdown(Number(delay.data)) : "a delay"} so that usage already served can still settle. Requesting again adds to the pending amount and restarts the wait.
      </p>
      <div className="row">
        <AmountInput label="Amount to withdraw" value={amount} onChange={setAmount} disabled={busy} />
        <button onClick={() => units && request.run("Withdrawal request", send("requestWithdrawal", [units])).then((ok) => ok && setAmount(""))} disabled={busy || !units}>
          Request withdrawal
        </button>
      </div>
      <TxStatus state={request.state} />
      {escrow && escrow.pending > 0n && (
        <div className="row">
          <span>
            {formatAmount(escrow.pending)} USDC pending — {locked > 0 ? <>unlocks in <strong data-testid="withdraw-countdown">{countdown(locked)}</strong></> : <strong>unlocked</strong>}
          </span>
          <button onClick={() => complete.run("Withdrawal", send("withdraw"))} disabled={busy || locked > 0}>Complete withdrawal</button>
          <button className="secondary" onClick={() => complete.run("Cancel withdrawal", send("cancelWithdrawal"))} disabled={busy}>Cancel</button>
        </div>
      )}
      <TxStatus state={complete.state} />
    </section>
  );
}
