/** List models with prices (USDC per million tokens); the contract charges at or below them. */
import { useState } from "react";
import { useConfig, useConnection, useReadContract } from "wagmi";
import { writeContract } from "wagmi/actions";
import { useQuery } from "@tanstack/react-query";
import { keccak256, stringToBytes } from "viem";
import { modelId } from "@tollgate/protocol/models";
import { useAppConfig } from "../../lib/config-context.tsx";
import { abis } from "../../lib/abis.ts";
import { useTx } from "../../lib/tx.ts";
import { gql } from "../../lib/graphql.ts";
import { formatAmount } from "../../lib/usdc.ts";
import { TxStatus } from "../../components/TxStatus.tsx";
import { AmountInput, unitsOf } from "../../components/AmountInput.tsx";

export type ProviderData = {
  provider: {
    status: string;
    workers: string[];
    models: { modelId: string; name: string; quantization: string; contextLength: number; promptPrice: string; completionPrice: string; listed: boolean; nextEffectiveAt: number | null }[];
  } | null;
};

export function useProviderData() {
  const cfg = useAppConfig();
  const { address } = useConnection();
  return useQuery({
    queryKey: ["provider", address],
    enabled: !!address,
    refetchInterval: 5_000,
    queryFn: () => gql<ProviderData>(cfg.graphqlUrl, `query($a: String!) { provider(address: $a) { status workers models { modelId name quantization contextLength promptPrice completionPrice listed nextEffectiveAt } } }`, { a: address!.toLowerCase() }),
  });
}

export function Models({ enabled }: { enabled: boolean }) {
  const cfg = useAppConfig();
  const wagmi = useConfig();
  const data = useProviderData();
  const [f, setF] = useState({ name: "", quantization: "fp16", contextLength: "8192", prompt: "", completion: "" });
  const tx = useTx();
  const change = useTx();
  const notice = useReadContract({ address: cfg.contracts.providerRegistry, abi: abis.registry, functionName: "priceNotice" });
  const [editing, setEditing] = useState<{ modelId: string; name: string; prompt: string; completion: string } | null>(null);
  const registry = (functionName: "schedulePriceChange" | "delistModel", args: readonly unknown[]) => () =>
    writeContract(wagmi, { address: cfg.contracts.providerRegistry, abi: abis.registry, functionName, args } as Parameters<typeof writeContract>[1]);
  const newPrompt = editing ? unitsOf(editing.prompt) : null;
  const newCompletion = editing ? unitsOf(editing.completion) : null;
  const prompt = unitsOf(f.prompt);
  const completion = unitsOf(f.completion);
  const ctx = Number(f.contextLength);
  const valid = enabled && f.name.trim() && prompt !== null && completion !== null && Number.isInteger(ctx) && ctx > 0;
  const submit = () =>
    tx.run("List model", () =>
      writeContract(wagmi, {
        address: cfg.contracts.providerRegistry,
        abi: abis.registry,
        functionName: "listModel",
        args: [modelId(f.name.trim()), { name: f.name.trim(), quantization: f.quantization.trim(), modelHash: keccak256(stringToBytes(`${f.name.trim()}:${f.quantization.trim()}`)), contextLength: ctx }, Number(prompt), Number(completion)],
      } as Parameters<typeof writeContract>[1]),
    );
  return (
    <section>
      <h2>Models and prices</h2>
      {!enabled && <p className="muted">Register your hardware first.</p>}
      <table>
        <thead><tr><th>Model</th><th>Quantization</th><th className="num">Context</th><th className="num">Prompt / 1M tokens</th><th className="num">Completion / 1M tokens</th><th>State</th><th /></tr></thead>
        <tbody>
          {data.data?.provider?.models.map((m) => (
            <tr key={m.modelId} data-testid="model-row">
              <td>{m.name}</td><td>{m.quantization}</td><td className="num">{m.contextLength}</td>
              <td className="num">{formatAmount(BigInt(m.promptPrice))} USDC</td><td className="num">{formatAmount(BigInt(m.completionPrice))} USDC</td>
              <td>{m.listed ? "listed" : "delisted"}{m.nextEffectiveAt ? `, change at ${new Date(m.nextEffectiveAt * 1000).toLocaleString()}` : ""}</td>
              <td>
                {m.listed && <button className="link" disabled={change.busy} onClick={() => setEditing({ modelId: m.modelId, name: m.name, prompt: "", completion: "" })}>Change price</button>}{" "}
                {m.listed && <button className="link" disabled={change.busy} onClick={() => change.run(`Delist ${m.name}`, registry("delistModel", [m.modelId]))}>Delist</button>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {editing && (
        <div className="row card">
          <strong>New price for {editing.name}</strong>
          <AmountInput label="Prompt per 1M tokens" value={editing.prompt} onChange={(v) => setEditing({ ...editing, prompt: v })} />
          <AmountInput label="Completion per 1M tokens" value={editing.completion} onChange={(v) => setEditing({ ...editing, completion: v })} />
          <button disabled={change.busy || newPrompt === null || newCompletion === null} onClick={() => change.run(`Price change for ${editing.name}`, registry("schedulePriceChange", [editing.modelId, Number(newPrompt), Number(newCompletion)])).then((ok) => ok && setEditing(null))}>Schedule</button>
          <button className="secondary" onClick={() => setEditing(null)}>Cancel</button>
          <span className="muted">A change takes effect after the notice period{notice.data !== undefined ? ` (${Math.round(Number(notice.data) / 3600)} h)` : ""}; until then customers pay the current price.</span>
        </div>
      )}
      <TxStatus state={change.state} />
      {data.error && <p className="muted">Listed models come from the indexer: {(data.error as Error).message}</p>}
      <div className="row">
        <label className="field"><span>Model name</span><input value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} placeholder="llama-3.1-8b-instruct" /></label>
        <label className="field"><span>Quantization</span><input value={f.quantization} onChange={(e) => setF({ ...f, quantization: e.target.value })} /></label>
        <label className="field"><span>Context length</span><input value={f.contextLength} onChange={(e) => setF({ ...f, contextLength: e.target.value })} inputMode="numeric" /></label>
        <AmountInput label="Prompt price per 1M tokens" value={f.prompt} onChange={(v) => setF({ ...f, prompt: v })} />
        <AmountInput label="Completion price per 1M tokens" value={f.completion} onChange={(v) => setF({ ...f, completion: v })} />
        <button disabled={!valid || tx.busy} onClick={submit}>List model</button>
      </div>
      <TxStatus state={tx.state} />
    </section>
  );
}
