/** Hardware profile: register once, update later. */
import { useEffect, useState } from "react";
import { useConfig, useConnection, useReadContract } from "wagmi";
import { writeContract } from "wagmi/actions";
import { useAppConfig } from "../../lib/config-context.tsx";
import { abis } from "../../lib/abis.ts";
import { useTx } from "../../lib/tx.ts";
import { TxStatus } from "../../components/TxStatus.tsx";

type Profile = { gpuModel: string; gpuCount: number; vramGb: number; region: string; metadataURI: string };

export function useRegistered() {
  const cfg = useAppConfig();
  const { address } = useConnection();
  const r = useReadContract({ address: cfg.contracts.providerRegistry, abi: abis.registry, functionName: "isRegistered", args: address ? [address] : undefined, query: { enabled: !!address } });
  return r.data as boolean | undefined;
}

export function Register() {
  const cfg = useAppConfig();
  const wagmi = useConfig();
  const { address } = useConnection();
  const registered = useRegistered();
  const profile = useReadContract({ address: cfg.contracts.providerRegistry, abi: abis.registry, functionName: "profileOf", args: address ? [address] : undefined, query: { enabled: !!registered } });
  const current = profile.data as Profile | undefined;
  const [form, setForm] = useState({ gpuModel: "", gpuCount: "1", vramGb: "", region: "", metadataURI: "" });
  const tx = useTx();
  // Start from the registered profile, so an update changes only what the provider edits.
  useEffect(() => {
    if (current) setForm({ gpuModel: current.gpuModel, gpuCount: String(current.gpuCount), vramGb: String(current.vramGb), region: current.region, metadataURI: current.metadataURI });
  }, [current?.gpuModel, current?.gpuCount, current?.vramGb, current?.region, current?.metadataURI]);
  const count = Number(form.gpuCount);
  const vram = Number(form.vramGb);
  const valid = form.gpuModel.trim() && form.region.trim() && Number.isInteger(count) && count > 0 && count < 65536 && Number.isInteger(vram) && vram > 0;
  const set = (k: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement>) => setForm({ ...form, [k]: e.target.value });
  const submit = () =>
    tx.run(registered ? "Update hardware" : "Register", () =>
      writeContract(wagmi, {
        address: cfg.contracts.providerRegistry,
        abi: abis.registry,
        functionName: registered ? "updateProfile" : "register",
        args: [{ gpuModel: form.gpuModel.trim(), gpuCount: count, vramGb: vram, region: form.region.trim(), metadataURI: form.metadataURI.trim() }],
      } as Parameters<typeof writeContract>[1]),
    );
  return (
    <section>
      <h2>Hardware</h2>
      {registered && current ? (
        <p data-testid="provider-profile">Registered: {current.gpuCount} × {current.gpuModel}, {current.vramGb} GB VRAM, {current.region}</p>
      ) : (
        <p className="muted">Not registered yet. Describe the hardware your workers run on.</p>
      )}
      <div className="row">
        <label className="field"><span>GPU model</span><input value={form.gpuModel} onChange={set("gpuModel")} placeholder="H100 SXM" /></label>
        <label className="field"><span>GPU count</span><input value={form.gpuCount} onChange={set("gpuCount")} inputMode="numeric" /></label>
        <label className="field"><span>VRAM per GPU (GB)</span><input value={form.vramGb} onChange={set("vramGb")} inputMode="numeric" placeholder="80" /></label>
        <label className="field"><span>Region</span><input value={form.region} onChange={set("region")} placeholder="eu-west" /></label>
        <label className="field"><span>Metadata URI (optional)</span><input value={form.metadataURI} onChange={set("metadataURI")} placeholder="ipfs://…" /></label>
        <button disabled={!valid || tx.busy} onClick={submit}>{registered ? "Update hardware" : "Register"}</button>
      </div>
      <TxStatus state={tx.state} />
    </section>
  );
}
