import { useState } from "react";
import { useConfig } from "wagmi";
import { useAppConfig } from "../lib/config-context.tsx";
import { verifyReceipt, type Verification } from "../lib/verify.ts";

/** A button that checks one receipt's Merkle proof in this browser against the root on-chain. */
export function VerifyReceiptButton({ id }: { id: string }) {
  const wagmi = useConfig();
  const cfg = useAppConfig();
  const [state, setState] = useState<{ busy: boolean; result?: Verification; error?: string }>({ busy: false });
  const run = async () => {
    setState({ busy: true });
    try {
      setState({ busy: false, result: await verifyReceipt(wagmi, cfg, id) });
    } catch (e) {
      setState({ busy: false, error: e instanceof Error ? e.message : String(e) });
    }
  };
  return (
    <span className="verify">
      <button disabled={state.busy} onClick={run}>{state.busy ? "Verifying…" : "Verify proof"}</button>
      {state.result && (
        <span className={state.result.valid ? "ok" : "bad"} data-testid="verify-result" title={`root ${state.result.onChainRoot}, ${state.result.proofLength} proof steps, from the ${state.result.source}`}>
          {state.result.valid
            ? `✓ Valid: matches the root of batch ${state.result.batchId} on-chain`
            : `✗ Invalid: the proof does not lead to the on-chain root of batch ${state.result.batchId}`}
        </span>
      )}
      {state.error && <span className="bad" role="alert">{state.error}</span>}
    </span>
  );
}

export function VerifyReceiptForm() {
  const [id, setId] = useState("");
  const ok = /^0x[0-9a-fA-F]{64}$/.test(id.trim());
  return (
    <div className="row">
      <label className="field grow">
        <span>Receipt id (the <code>x-tollgate-receipt-id</code> response header)</span>
        <input value={id} onChange={(e) => setId(e.target.value)} placeholder="0x…" spellCheck={false} />
      </label>
      {ok && <VerifyReceiptButton key={id.trim()} id={id.trim()} />}
    </div>
  );
}
