/** Worker keys the provider authorizes, and the gateway's live view of those workers. */
import { useState } from "react";
import { useConfig, useConnection } from "wagmi";
import { writeContract } from "wagmi/actions";
import { useQuery } from "@tanstack/react-query";
import { isAddress } from "viem";
import { useAppConfig } from "../../lib/config-context.tsx";
import { abis } from "../../lib/abis.ts";
import { useTx } from "../../lib/tx.ts";
import { gateway } from "../../lib/gateway.ts";
import { TxStatus } from "../../components/TxStatus.tsx";
import { useProviderData } from "./Models.tsx";

export function Workers({ enabled }: { enabled: boolean }) {
  const cfg = useAppConfig();
  const wagmi = useConfig();
  const { address } = useConnection();
  const data = useProviderData();
  const [worker, setWorker] = useState("");
  const tx = useTx();
  const status = useQuery({ queryKey: ["gw-status"], queryFn: () => gateway.status(cfg.gatewayUrl), refetchInterval: 3_000 });
  const mine = status.data?.workers.filter((w) => w.provider.toLowerCase() === address?.toLowerCase()) ?? [];
  const call = (functionName: "authorizeWorker" | "revokeWorker", w: string) => () =>
    writeContract(wagmi, { address: cfg.contracts.providerRegistry, abi: abis.registry, functionName, args: [w] } as Parameters<typeof writeContract>[1]);
  return (
    <section>
      <h2>Workers</h2>
      <p className="muted">Authorize the address of each worker key (the worker prints it at start). A worker key signs the worker's registration with the gateway; it never holds funds.</p>
      <div className="row">
        <label className="field grow"><span>Worker address</span><input value={worker} onChange={(e) => setWorker(e.target.value)} placeholder="0x…" spellCheck={false} /></label>
        <button disabled={!enabled || !isAddress(worker.trim()) || tx.busy} onClick={() => tx.run("Authorize worker", call("authorizeWorker", worker.trim())).then((ok) => ok && setWorker(""))}>Authorize</button>
      </div>
      {worker && !isAddress(worker.trim()) && <p className="field-error">Not an address.</p>}
      <TxStatus state={tx.state} />
      <h3>Authorized keys</h3>
      <ul>
        {data.data?.provider?.workers.map((w) => (
          <li key={w}><code>{w}</code> <button className="link" disabled={tx.busy} onClick={() => tx.run("Revoke worker", call("revokeWorker", w))}>revoke</button></li>
        ))}
      </ul>
      <h3>Live status (gateway)</h3>
      {status.error && <p className="field-error">{(status.error as Error).message}</p>}
      <table>
        <thead><tr><th>Worker</th><th>Models</th><th>State</th><th className="num">In flight</th><th className="num">TTFT (EWMA)</th></tr></thead>
        <tbody>
          {mine.map((w) => (
            <tr key={w.id} data-testid="worker-row">
              <td><code>{w.id}</code></td>
              <td>{w.models.join(", ")}</td>
              <td>{!w.alive ? "offline" : w.draining ? "draining" : w.coolingDown ? "cooling down" : "serving"}</td>
              <td className="num">{w.inFlight} / {w.maxConcurrency}</td>
              <td className="num">{w.ttftEwmaMs} ms</td>
            </tr>
          ))}
          {status.data && mine.length === 0 && <tr><td colSpan={5} className="muted">No worker of yours is connected to this gateway.</td></tr>}
        </tbody>
      </table>
    </section>
  );
}
