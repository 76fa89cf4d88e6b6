/** A problem report with the minimum useful context; refuses text that looks like a secret. */
import { useState } from "react";
import { findSecrets } from "../../lib/secrets.ts";

const CATEGORIES = ["billing", "provider quality", "wallet", "security", "other"] as const;

export function ReportForm() {
  const [f, setF] = useState({ category: "billing", requestId: "", receiptId: "", time: "", model: "", expected: "", happened: "" });
  const [report, setReport] = useState<string | null>(null);
  const free = [f.requestId, f.time, f.model, f.expected, f.happened].join("\n");
  const findings = findSecrets(free);
  const receiptOk = !f.receiptId || /^0x[0-9a-fA-F]{64}$/.test(f.receiptId.trim());
  const complete = (f.requestId.trim() || f.receiptId.trim()) && f.time.trim() && f.expected.trim() && f.happened.trim();
  const set = (k: keyof typeof f) => (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) => {
    setF({ ...f, [k]: e.target.value });
    setReport(null);
  };
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (findings.length || !complete || !receiptOk) return;
    setReport(
      [`Category: ${f.category}`, `Request id: ${f.requestId.trim() || "—"}`, `Receipt id: ${f.receiptId.trim() || "—"}`, `Time: ${f.time.trim()}`, `Model: ${f.model.trim() || "—"}`, `Expected: ${f.expected.trim()}`, `What happened: ${f.happened.trim()}`].join("\n"),
    );
  };
  return (
    <form onSubmit={submit} aria-label="Report a problem">
      <div className="row">
        <label className="field"><span>Category</span><select value={f.category} onChange={set("category")}>{CATEGORIES.map((c) => <option key={c}>{c}</option>)}</select></label>
        <label className="field"><span>Request id</span><input value={f.requestId} onChange={set("requestId")} placeholder="x-request-id header" /></label>
        <label className="field"><span>Receipt id</span><input value={f.receiptId} onChange={set("receiptId")} placeholder="0x… (x-tollgate-receipt-id)" aria-invalid={!receiptOk} /></label>
        <label className="field"><span>Time (with time zone)</span><input value={f.time} onChange={set("time")} placeholder="2026-12-01 14:05 UTC" /></label>
        <label className="field"><span>Model</span><input value={f.model} onChange={set("model")} /></label>
      </div>
      <label className="field"><span>What you expected</span><textarea rows={2} value={f.expected} onChange={set("expected")} /></label>
      <label className="field"><span>What happened (status code, error code; no prompt text)</span><textarea rows={3} value={f.happened} onChange={set("happened")} /></label>
      {!receiptOk && <p className="field-error" role="alert">A receipt id is 0x followed by 64 hex digits.</p>}
      {findings.map((x) => (
        <p key={x.kind} className="field-error" role="alert" data-testid="secret-warning">This looks like {x.kind}. {x.advice} The report cannot be prepared while it is there.</p>
      ))}
      <button type="submit" disabled={findings.length > 0 || !complete || !receiptOk}>Prepare report</button>
      {report && (
        <div className="card" data-testid="report-ready">
          <p>Your report is ready. Copy it and send it to the channel for “{f.category}” in the escalation map below.</p>
          <pre>{report}</pre>
          <button type="button" className="secondary" onClick={() => navigator.clipboard?.writeText(report)}>Copy report</button>
        </div>
      )}
    </form>
  );
}
