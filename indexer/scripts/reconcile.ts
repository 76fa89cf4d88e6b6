/**
 * npm run indexer:reconcile — compare every account's balances in a running indexer with the
 * contracts' views at the indexer's last block. Exits 1 on any difference, printing each one.
 *
 * Env: INDEXER_URL (the GraphQL URL, default http://127.0.0.1:42069/graphql), INDEXER_RPC_URL,
 * INDEXER_DEPLOYMENT (deployment JSON, e.g. devnet.json).
 */
import { z } from "zod";
import { loadDeployment } from "@tollgate/protocol";
import { reconcile } from "../src/reconcile.ts";

const env = z.object({
  INDEXER_URL: z.string().url().default("http://127.0.0.1:42069/graphql"),
  INDEXER_RPC_URL: z.string({ error: "required: the chain's RPC URL" }).url({ message: "must be the chain's RPC URL" }),
  INDEXER_DEPLOYMENT: z.string({ error: "required: the path of the deployment JSON (e.g. devnet.json)" }).min(1, "must be the path of the deployment JSON"),
}).safeParse(process.env);
if (!env.success) {
  for (const i of env.error.issues) console.error(`${i.path.join(".")}: ${i.message}`);
  process.exit(2);
}
const { INDEXER_URL, INDEXER_RPC_URL, INDEXER_DEPLOYMENT } = env.data;
try {
  const r = await reconcile({ graphqlUrl: INDEXER_URL, rpcUrl: INDEXER_RPC_URL, deployment: loadDeployment(INDEXER_DEPLOYMENT) });
  for (const d of r.differences) console.log(`DIFF ${d.account} ${d.field}: indexer ${d.indexer}, chain ${d.chain}`);
  console.log(`reconciled ${r.customers} customers and ${r.providers} providers at block ${r.block}: ${r.differences.length} difference(s)`);
  process.exit(r.differences.length === 0 ? 0 : 1);
} catch (err) {
  console.error(`reconcile failed: ${(err as Error).message}`);
  process.exit(2);
}
