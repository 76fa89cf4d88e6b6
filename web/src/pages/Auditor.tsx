import { Web3 } from "../web3.tsx";
import { useState } from "react";
import { usePath } from "../lib/router.tsx";
import { Batches } from "./auditor/Batches.tsx";
import { BatchDetail } from "./auditor/BatchDetail.tsx";
import { Providers } from "./auditor/Providers.tsx";
import { Disputes } from "./auditor/Disputes.tsx";
import { SlaReports } from "./auditor/SlaReports.tsx";
import { VerifyReceiptForm } from "../components/VerifyReceipt.tsx";

const TABS = { batches: "Batches", providers: "Providers", sla: "SLA reports", disputes: "Disputes and slashes" } as const;

function AuditorPageContent() {
  const path = usePath();
  const m = /^\/auditor\/batch\/(\d+)\/(\d+)$/.exec(path);
  const [tab, setTab] = useState<keyof typeof TABS>("batches");
  if (m) return <BatchDetail gatewayId={Number(m[1])} batchId={m[2]!} />;
  return (
    <>
      <h1>Auditor</h1>
      <p className="muted">Everything here comes from the indexer's GraphQL, which follows the chain's events; any receipt can be checked against the root on-chain in this browser.</p>
      <div className="tabs" role="tablist">
        {Object.entries(TABS).map(([k, label]) => (
          <button key={k} role="tab" aria-selected={tab === k} className={tab === k ? "" : "secondary"} onClick={() => setTab(k as keyof typeof TABS)}>{label}</button>
        ))}
      </div>
      {tab === "batches" && <Batches />}
      {tab === "providers" && <Providers />}
      {tab === "sla" && <SlaReports />}
      {tab === "disputes" && <Disputes />}
      <section><h2>Verify any receipt</h2><VerifyReceiptForm /></section>
    </>
  );
}

export default function AuditorPage() {
  return <Web3><AuditorPageContent /></Web3>;
}
