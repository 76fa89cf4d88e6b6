import { Link } from "../lib/router.tsx";
import { useAppConfig } from "../lib/config-context.tsx";

export default function HomePage() {
  const cfg = useAppConfig();
  return (
    <>
      <h1>Metered, verifiable LLM inference, settled in USDC</h1>
      <p>Tollgate gives you one OpenAI-compatible endpoint served by independent GPU providers. You pay per token from an escrow on {cfg.chainName}, at or below each provider's published price, and every charge can be checked against a Merkle root on-chain.</p>
      <div className="grid">
        <section><h2><Link to="/customer">Customer</Link></h2><p>Top up, create API keys, see usage, verify receipts, withdraw.</p></section>
        <section><h2><Link to="/provider">Provider</Link></h2><p>Register hardware and models, stake, run workers, claim earnings.</p></section>
        <section><h2><Link to="/auditor">Auditor</Link></h2><p>Batches, receipts and proofs, stakes, disputes and slashes.</p></section>
        <section><h2><Link to="/status">Status</Link></h2><p>Availability and time to first token per provider and model.</p></section>
        <section><h2><Link to="/help">Help</Link></h2><p>What Tollgate does and does not promise, what never to share, how to report a problem.</p></section>
      </div>
      <p className="muted">API base URL: <code>{cfg.gatewayUrl}/v1</code> · GraphQL: <code>{cfg.graphqlUrl}</code></p>
    </>
  );
}
