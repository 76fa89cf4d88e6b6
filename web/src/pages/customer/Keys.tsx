/** API keys: sign in, create (shown once, with copy and ready snippets), list, revoke, change the daily cap. */
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useAppConfig } from "../../lib/config-context.tsx";
import { gateway } from "../../lib/gateway.ts";
import { formatAmount } from "../../lib/usdc.ts";
import { AmountInput, unitsOf } from "../../components/AmountInput.tsx";
import { SignInButton, useSession } from "../../components/Session.tsx";

export function snippets(baseUrl: string, key: string, model = "MODEL") {
  const v1 = `${baseUrl.replace(/\/$/, "")}/v1`;
  return {
    curl: `curl ${v1}/chat/completions \\\n  -H "Authorization: Bearer ${key}" \\\n  -H "Content-Type: application/json" \\\n  -d '{"model": "${model}", "messages": [{"role": "user", "content": "Hello"}]}'`,
    python: `from openai import OpenAI\n\nclient = OpenAI(base_url="${v1}", api_key="${key}")\nr = client.chat.completions.create(model="${model}", messages=[{"role": "user", "content": "Hello"}])\nprint(r.choices[0].message.content)`,
    node: `import OpenAI from "openai";\n\nconst client = new OpenAI({ baseURL: "${v1}", apiKey: "${key}" });\nconst r = await client.chat.completions.create({ model: "${model}", messages: [{ role: "user", content: "Hello" }] });\nconsole.log(r.choices[0].message.content);`,
  };
}

function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button className="secondary" onClick={() => navigator.clipboard?.writeText(text).then(() => setDone(true), () => setDone(false))}>
      {done ? "Copied" : label}
    </button>
  );
}

export function NewKey({ keyText, gatewayUrl, model, onDone }: { keyText: string; gatewayUrl: string; model?: string; onDone(): void }) {
  const s = snippets(gatewayUrl, keyText, model);
  return (
    <div className="card" data-testid="new-key">
      <p><strong>Your new API key.</strong> Copy it now: it is shown only once, and Tollgate stores only its hash. Never paste it in a chat, issue or support form.</p>
      <div className="row"><code className="secret grow" data-testid="new-key-value">{keyText}</code><CopyButton text={keyText} /></div>
      <h3>curl</h3><pre>{s.curl}</pre>
      <h3>Python (openai SDK)</h3><pre>{s.python}</pre>
      <h3>Node.js (openai SDK)</h3><pre>{s.node}</pre>
      <button onClick={onDone}>I stored it</button>
    </div>
  );
}

/** A key's daily spend cap, changeable in place: a new amount, or no cap at all. */
export function DailyCapCell({ cap, onSave, pending }: { cap: string | null; onSave(cap: string | null): void; pending: boolean }) {
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState("");
  const units = value ? unitsOf(value) : null;
  const save = (next: string | null) => {
    onSave(next);
    setEditing(false);
    setValue("");
  };
  if (!editing) {
    return (
      <span className="row">
        <span>{cap ? `${formatAmount(BigInt(cap))} USDC` : "none"}</span>
        <button className="secondary" disabled={pending} onClick={() => setEditing(true)}>Change</button>
      </span>
    );
  }
  return (
    <span className="row">
      <AmountInput label="New daily cap" value={value} onChange={setValue} />
      <button disabled={!units || pending} onClick={() => save(units!.toString())}>Save</button>
      {cap && <button className="secondary" disabled={pending} onClick={() => save(null)}>No cap</button>}
      <button className="secondary" onClick={() => setEditing(false)}>Cancel</button>
    </span>
  );
}

export function Keys() {
  const cfg = useAppConfig();
  const { session } = useSession();
  const qc = useQueryClient();
  // A model that is being served right now, so the snippets run as printed.
  const status = useQuery({ queryKey: ["gw-status"], queryFn: () => gateway.status(cfg.gatewayUrl), enabled: !!session, refetchInterval: 10_000 });
  const servedModel = (status.data?.workers.find((w) => w.alive) ?? status.data?.workers[0])?.models[0];
  const keys = useQuery({ queryKey: ["keys", session], queryFn: () => gateway.keys(cfg.gatewayUrl, session!), enabled: !!session });
  const [name, setName] = useState("");
  const [cap, setCap] = useState("");
  const [shown, setShown] = useState<string | null>(null);
  const capUnits = cap ? unitsOf(cap) : null;
  const create = useMutation({
    mutationFn: () => gateway.createKey(cfg.gatewayUrl, session!, { name: name.trim(), ...(capUnits && { dailySpendCap: capUnits.toString() }) }),
    onSuccess: (k) => {
      setShown(k.key);
      setName("");
      setCap("");
      void qc.invalidateQueries({ queryKey: ["keys"] });
    },
  });
  const changeCap = useMutation({
    mutationFn: ({ id, cap }: { id: string; cap: string | null }) => gateway.updateKey(cfg.gatewayUrl, session!, id, { dailySpendCap: cap }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["keys"] }),
  });
  const revoke = useMutation({
    mutationFn: (id: string) => gateway.revokeKey(cfg.gatewayUrl, session!, id),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["keys"] }),
  });
  return (
    <section>
      <h2>API keys</h2>
      <SignInButton />
      {session && (
        <>
          {shown && <NewKey keyText={shown} gatewayUrl={cfg.gatewayUrl} {...(servedModel && { model: servedModel })} onDone={() => setShown(null)} />}
          <div className="row">
            <label className="field"><span>Key name</span><input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. laptop" maxLength={100} /></label>
            <AmountInput label="Daily spend cap (optional)" value={cap} onChange={setCap} />
            <button disabled={!name.trim() || create.isPending || (!!cap && !capUnits)} onClick={() => create.mutate()}>Create key</button>
          </div>
          {create.error && <p className="field-error" role="alert">{create.error.message}</p>}
          {keys.error && <p className="field-error" role="alert">{keys.error.message}</p>}
          <table>
            <thead><tr><th>Name</th><th>Key</th><th className="num">Daily cap</th><th>Created</th><th>State</th><th /></tr></thead>
            <tbody>
              {keys.data?.map((k) => (
                <tr key={k.id} data-testid="key-row">
                  <td>{k.name}</td>
                  <td><code>…{k.last4}</code></td>
                  <td className="num">
                    {k.revokedAt ? (k.dailySpendCap ? `${formatAmount(BigInt(k.dailySpendCap))} USDC` : "none") : <DailyCapCell cap={k.dailySpendCap} pending={changeCap.isPending} onSave={(cap) => changeCap.mutate({ id: k.id, cap })} />}
                  </td>
                  <td>{new Date(k.createdAt).toLocaleString()}</td>
                  <td>{k.revokedAt ? "revoked" : "active"}</td>
                  <td>{!k.revokedAt && <button className="secondary" disabled={revoke.isPending} onClick={() => revoke.mutate(k.id)}>Revoke</button>}</td>
                </tr>
              ))}
              {keys.data?.length === 0 && <tr><td colSpan={6} className="muted">No keys yet.</td></tr>}
            </tbody>
          </table>
          {revoke.error && <p className="field-error" role="alert">{revoke.error.message}</p>}
          {changeCap.error && <p className="field-error" role="alert">{changeCap.error.message}</p>}
        </>
      )}
    </section>
  );
}
