/**
 * devnet.json: everything a script, a test or the dApp needs to talk to a running devnet. Its
 * `deployment` is exactly @tollgate/protocol's Deployment, so `loadDeployment("devnet.json")` works.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { deploymentSchema } from "@tollgate/protocol";

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/) as unknown as z.ZodType<`0x${string}`>;
const privateKey = z.string().regex(/^0x[0-9a-fA-F]{64}$/) as unknown as z.ZodType<`0x${string}`>;
const account = z.object({ address, privateKey });
const usdcUnits = z.string().regex(/^\d+$/); // bigint as a decimal string, USDC base units

export const devnetManifestSchema = z.object({
  warning: z.string(),
  chainId: z.number().int().positive(),
  rpcUrl: z.url(),
  deployment: deploymentSchema,
  gatewayId: z.number().int().positive(),
  gatewayUrl: z.url(),
  gatewayUrls: z.array(z.url()).min(1),
  /** The domain SIWE messages must name to sign in at this gateway. */
  siweDomain: z.string().min(1),
  graphqlUrl: z.url().nullable(),
  webUrl: z.url().nullable(),
  apiKey: z.string().startsWith("tg_"),
  accounts: z.object({
    deployer: account,
    customer: account,
    providers: z.array(account),
    gatewaySigner: account,
    arbiter: account,
  }),
  providers: z.array(
    z.object({
      address,
      name: z.string(),
      models: z.array(z.string()),
      prices: z.array(z.object({ model: z.string(), promptPrice: usdcUnits, completionPrice: usdcUnits })),
      workerUrls: z.array(z.url()),
      worker: address,
      behaviour: z.object({ ttftMs: z.number(), ttftSigma: z.number(), tokensPerSecond: z.number(), errorRate: z.number(), summary: z.string() }),
    }),
  ),
  timings: z.object({ epochMs: z.number(), slaWindowSec: z.number(), disputeWindowSec: z.number(), probeIntervalMs: z.number() }),
  dataDir: z.string(),
  logsDir: z.string(),
  readyMs: z.number(),
});
export type DevnetManifest = z.infer<typeof devnetManifestSchema>;

export const MANIFEST_WARNING =
  "DEVNET ONLY: the private keys below are anvil's public test keys. Never send real funds to these accounts or use them on a real network.";

export function writeManifest(path: string, m: DevnetManifest): void {
  writeFileSync(path, `${JSON.stringify(devnetManifestSchema.parse(m), null, 2)}\n`);
}

export function readManifest(path: string): DevnetManifest {
  return devnetManifestSchema.parse(JSON.parse(readFileSync(path, "utf8")));
}
