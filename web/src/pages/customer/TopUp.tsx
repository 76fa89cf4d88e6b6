/** Top up with a permit: one signature (EIP-2612) and one transaction (depositWithPermit). */
import { useState } from "react";
import { useConfig, useConnection } from "wagmi";
import { writeContract } from "wagmi/actions";
import { useAppConfig } from "../../lib/config-context.tsx";
import { abis } from "../../lib/abis.ts";
import { signPermit } from "../../lib/permit.ts";
import { useTx } from "../../lib/tx.ts";
import { AmountInput, unitsOf } from "../../components/AmountInput.tsx";
import { TxStatus } from "../../components/TxStatus.tsx";

export function TopUp() {
  const cfg = useAppConfig();
  const wagmi = useConfig();
  const { address } = useConnection();
  const [amount, setAmount] = useState("");
  const tx = useTx();
  const units = unitsOf(amount);
  const submit = () =>
    address && units &&
    tx.run("Top up", async () => {
      const p = await signPermit(wagmi, { token: cfg.contracts.usdc, owner: address, spender: cfg.contracts.settlement, value: units, chainId: cfg.chainId });
      return writeContract(wagmi, { address: cfg.contracts.settlement, abi: abis.settlement, functionName: "depositWithPermit", args: [address, units, p.deadline, p.v, p.r, p.s] });
    }).then((ok) => ok && setAmount(""));
  return (
    <section>
      <h2>Top up</h2>
      <p className="muted">Moves USDC from your wallet into your Tollgate escrow. You sign a permit, then send one transaction.</p>
      <div className="row">
        <AmountInput label="Amount" value={amount} onChange={setAmount} disabled={tx.busy} />
        <button onClick={submit} disabled={tx.busy || !units}>Top up</button>
      </div>
      <TxStatus state={tx.state} />
    </section>
  );
}
