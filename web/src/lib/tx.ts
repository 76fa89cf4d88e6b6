/**
 * One transaction's life as the user sees it: waiting for the wallet, pending on-chain, confirmed or
 * failed (with the reason in words). Buttons read `busy` to stay disabled while it is in flight.
 */
import { useCallback, useState } from "react";
import { useConfig } from "wagmi";
import { waitForTransactionReceipt } from "wagmi/actions";
import { useQueryClient } from "@tanstack/react-query";
import type { Hex, TransactionReceipt } from "viem";
import { describeError } from "./errors.ts";

export type TxPhase = "idle" | "wallet" | "pending" | "confirmed" | "failed";
export type TxState = { phase: TxPhase; hash?: Hex; message?: string; label?: string };

export function useTx() {
  const config = useConfig();
  const queryClient = useQueryClient();
  const [state, setState] = useState<TxState>({ phase: "idle" });
  /**
   * `send` returns the hash of a broadcast transaction; anything before it (signatures) counts as
   * "wallet". `outcome`, when given, says in words what the confirmed transaction did.
   */
  const run = useCallback(
    async (label: string, send: () => Promise<Hex>, outcome?: (receipt: TransactionReceipt) => string): Promise<boolean> => {
      setState({ phase: "wallet", label });
      try {
        const hash = await send();
        setState({ phase: "pending", hash, label });
        const receipt = await waitForTransactionReceipt(config, { hash, pollingInterval: 500 });
        await queryClient.invalidateQueries();
        if (receipt.status === "success") {
          setState({ phase: "confirmed", hash, label, ...(outcome && { message: outcome(receipt) }) });
          return true;
        }
        setState({ phase: "failed", hash, label, message: "The transaction reverted on-chain." });
      } catch (err) {
        setState((s) => ({ phase: "failed", label, message: describeError(err), ...(s.hash && { hash: s.hash }) }));
      }
      return false;
    },
    [config, queryClient],
  );
  return { state, run, busy: state.phase === "wallet" || state.phase === "pending" };
}
