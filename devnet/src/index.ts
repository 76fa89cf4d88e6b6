/** @tollgate/devnet: the whole Tollgate network on one machine, for people (npm start) and tests. */
export { startDevnet, type Devnet } from "./start.ts";
export { devnetManifestSchema, readManifest, type DevnetManifest } from "./manifest.ts";
export { devnetOptionsSchema, DEFAULT_PORTS, type DevnetOptions } from "./options.ts";
export { DEMO_PROVIDERS, MAIN_MODEL, SLOW_MODEL, GATEWAY_ID, ACCOUNT_INDEX, type DemoProvider } from "./demo.ts";
export { chainClients, depositWithPermit, send, type ChainClients, type Signer } from "./chain-setup.ts";
export { signIn, createApiKey } from "./customer.ts";
export { wipeExternalStorage } from "./storage.ts";
export { checkNotRunning, runningDevnet, lockPath, DevnetBusyError, type DevnetLock } from "./lock.ts";
export { fund, FAUCET_ETH, FAUCET_USDC } from "./faucet.ts";
