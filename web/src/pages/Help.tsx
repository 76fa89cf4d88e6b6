import { ReportForm } from "./help/ReportForm.tsx";

export default function HelpPage() {
  return (
    <>
      <h1>Help</h1>
      <section id="what">
        <h2>What Tollgate does</h2>
        <ul>
          <li>Sells LLM inference from independent GPU providers behind one OpenAI-compatible endpoint (<code>/v1/chat/completions</code>, <code>/v1/completions</code>, <code>/v1/models</code>), paid in USDC from your escrow on Base.</li>
          <li>Charges per token at or below the provider's published price; the contract computes every charge, so the gateway cannot overcharge.</li>
          <li>Gives every request a receipt (<code>x-tollgate-receipt-id</code>) that anyone can check against the Merkle root posted on-chain.</li>
          <li>Pays SLA credits from a provider's stake into your escrow when it misses the published availability or time-to-first-token targets.</li>
          <li>Lets you leave at any time: withdraw your unfrozen escrow after the withdrawal delay, without the gateway.</li>
        </ul>
      </section>
      <section id="cannot">
        <h2>What it cannot do, and does not promise</h2>
        <ul>
          <li>It does not promise a model's answers are correct, safe or fit for any purpose; providers run open models and Tollgate meters them.</li>
          <li>It does not promise a fixed latency or uptime beyond the on-chain SLA policy; when a provider misses it, the remedy is the credit the policy computes, capped.</li>
          <li>It cannot undo a blockchain transaction, recover a lost wallet, or reverse a transfer you signed.</li>
          <li>It cannot see or recover your prompts or outputs: they are not stored or logged by default. Providers process them to answer you; do not send what you would not share with them.</li>
          <li>It cannot move money without a transaction or signature from your wallet, except settling usage you made through your own API keys.</li>
          <li>Usage is settled in batches; a charge appears on-chain after the next epoch, and earnings vest only after the dispute window.</li>
        </ul>
      </section>
      <section id="never-share">
        <h2>Never share</h2>
        <ul>
          <li><strong>Private keys</strong> and <strong>seed (recovery) phrases</strong> — nobody from Tollgate will ever ask for them.</li>
          <li><strong>API keys</strong> (<code>tg_live_…</code>, <code>tg_test_…</code>) — if one leaks, revoke it on the Customer page.</li>
          <li><strong>Prompts that contain secrets</strong> (passwords, tokens, internal documents) — they travel to a provider's GPU.</li>
          <li><strong>Personal data</strong> of you or others (IDs, addresses, health or payment data) in prompts or reports.</li>
        </ul>
      </section>
      <section id="report">
        <h2>Report a problem</h2>
        <p>The minimum useful context: the <strong>request id</strong> (<code>x-request-id</code> response header) or the <strong>receipt id</strong>, the <strong>time</strong> (with time zone), the <strong>model</strong>, <strong>what you expected</strong> and <strong>what happened</strong> (HTTP status and the error's <code>code</code>). No prompt text is needed.</p>
        <ReportForm />
      </section>
      <section id="escalation">
        <h2>Escalation map</h2>
        <table>
          <thead><tr><th>Problem</th><th>First check</th><th>Escalate to</th></tr></thead>
          <tbody>
            <tr><td>Billing: a charge looks wrong, 402 errors, balance</td><td>Customer page → Usage: verify the receipt; compare the batch entry with the provider's published price</td><td>Open an on-chain dispute on the entry within the dispute window; then the gateway operator with the receipt id</td></tr>
            <tr><td>Provider quality: slow, wrong or broken answers, 503</td><td>Status page: availability and p95 TTFT per provider</td><td>The gateway operator with request id, time and model; SLA credits follow the on-chain policy automatically</td></tr>
            <tr><td>Wallet: cannot connect, wrong network, transaction failed</td><td>The error shown under the button, and the transaction on the explorer</td><td>Your wallet's support; Tollgate cannot move or recover wallet funds</td></tr>
            <tr><td>Security: leaked key, suspicious charge, vulnerability</td><td>Revoke exposed API keys now; move funds if a private key leaked</td><td>The operator's security contact at once, marked “security”; never include the secret itself</td></tr>
          </tbody>
        </table>
      </section>
      <section id="agents">
        <h2>For agents and tools</h2>
        <p><a href="/llms.txt">/llms.txt</a> lists these pages and the API documentation in plain text.</p>
      </section>
    </>
  );
}
