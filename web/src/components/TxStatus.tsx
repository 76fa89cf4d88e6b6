import type { TxState } from "../lib/tx.ts";
import { useAppConfig } from "../lib/config-context.tsx";

const TEXT = { wallet: "Waiting for your wallet…", pending: "Pending on-chain…", confirmed: "Confirmed", failed: "Failed" } as const;

/** Pending / confirmed / failed, the reason in words, and a link to the block explorer. */
export function TxStatus({ state }: { state: TxState }) {
  const { explorerUrl } = useAppConfig();
  if (state.phase === "idle") return null;
  return (
    <div className={`tx tx-${state.phase}`} role="status" data-phase={state.phase}>
      <strong>{state.label ? `${state.label}: ` : ""}{TEXT[state.phase]}</strong>
      {state.message && <span className="tx-reason"> — {state.message}</span>}
      {state.hash &&
        (explorerUrl ? (
          <a href={`${explorerUrl}/tx/${state.hash}`} target="_blank" rel="noreferrer" className="tx-link">
            view transaction
          </a>
        ) : (
          <code className="tx-hash" title="no block explorer on this network">{state.hash.slice(0, 10)}…</code>
        ))}
    </div>
  );
}
