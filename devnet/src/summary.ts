/** What `npm start` prints once everything is up: URLs, the demo key and a ready openai snippet. */
import { join } from "node:path";
import type { DevnetManifest } from "./manifest.ts";
import { MAIN_MODEL } from "./demo.ts";
import { REPO_ROOT } from "./options.ts";

const DEFAULT_MANIFEST = join(REPO_ROOT, "devnet.json");

export function summary(m: DevnetManifest, manifestPath: string): string {
  const usd = (units: string) => `$${(Number(units) / 1e6).toFixed(2)}`;
  const lines = [
    "",
    `Tollgate devnet ready in ${(m.readyMs / 1000).toFixed(1)} s`,
    "",
    `  chain (anvil)   ${m.rpcUrl}   chain id ${m.chainId}`,
    `  gateway         ${m.gatewayUrl}/v1${m.gatewayUrls.length > 1 ? `   (replicas: ${m.gatewayUrls.slice(1).join(", ")})` : ""}`,
    `  GraphQL         ${m.graphqlUrl ?? "— (no indexer/ workspace in this checkout)"}`,
    `  dApp            ${m.webUrl ?? "— (no web/ workspace in this checkout)"}`,
    `  status          ${m.gatewayUrl}/status`,
    "",
    `  demo customer   ${m.accounts.customer.address}  (500 USDC in escrow, 500 in the wallet)`,
    `  demo API key    ${m.apiKey}`,
    "",
    "  providers:",
    ...m.providers.map((p) => `    ${p.name.padEnd(15)} ${p.prices.map((x) => `${x.model} ${usd(x.promptPrice)}/${usd(x.completionPrice)} per M tokens`).join(", ")} — ${p.behaviour.summary}`),
    "",
    "  try it: save as hello.mjs and run node hello.mjs (openai is installed in this repository; elsewhere npm install openai first)",
    "",
    `    import OpenAI from "openai";`,
    `    const client = new OpenAI({ baseURL: "${m.gatewayUrl}/v1", apiKey: "${m.apiKey}" });`,
    `    const stream = await client.chat.completions.create({ model: "${MAIN_MODEL}", stream: true,`,
    `      messages: [{ role: "user", content: "Hello, Tollgate" }] });`,
    `    for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? "");`,
    "",
    "  or with curl:",
    "",
    `    curl ${m.gatewayUrl}/v1/chat/completions -H "authorization: Bearer ${m.apiKey}" \\`,
    `      -H "content-type: application/json" -d '{"model":"${MAIN_MODEL}","messages":[{"role":"user","content":"Hello"}]}'`,
    "",
    "  as a provider (Slow Silicon's stake, earnings and SLA credits paid):",
    "",
    `    npm run provider -w worker -- status --rpc-url ${m.rpcUrl} --deployment ${manifestPath} --provider ${m.providers[2]?.address ?? m.providers[0]!.address}`,
    "",
    "  your own wallet or provider account (1,000 test USDC and 10 ETH):",
    "",
    `    npm run faucet -w devnet -- 0xYourAddress${manifestPath === DEFAULT_MANIFEST ? "" : ` --manifest ${manifestPath}`}`,
    "",
    ...(m.graphqlUrl
      ? [
          "  as an auditor:",
          "",
          `    curl -s ${m.graphqlUrl} -H "content-type: application/json" -d '{"query":"{ totals { charged fees slaCredits batches } }"}'`,
          `    INDEXER_URL=${m.graphqlUrl} INDEXER_RPC_URL=${m.rpcUrl} INDEXER_DEPLOYMENT=${manifestPath} npm run indexer:reconcile`,
          "",
        ]
      : []),
    `  manifest        ${manifestPath}   (devnet only: it holds anvil's public test keys)`,
    `  logs            ${m.logsDir}`,
    `  timings         batches every ${m.timings.epochMs / 1000} s, SLA window ${m.timings.slaWindowSec} s, dispute window ${m.timings.disputeWindowSec} s`,
    "",
    "Ctrl-C stops every process this started.",
    "",
  ];
  return lines.join("\n");
}
