import { parseConfig, type AppConfig } from "../../src/config.ts";

/** A complete tollgate.config.json for a local devnet, as an operator writes it. */
export const DEVNET_CONFIG = {
  chainId: 31337,
  rpcUrl: "http://127.0.0.1:8545",
  chainName: "Tollgate devnet",
  contracts: { usdc: `0x${"1".repeat(40)}`, accessManager: `0x${"2".repeat(40)}`, providerRegistry: `0x${"3".repeat(40)}`, providerStaking: `0x${"4".repeat(40)}`, settlement: `0x${"5".repeat(40)}`, slaCredits: `0x${"6".repeat(40)}` },
  gatewayUrl: "http://127.0.0.1:8080",
  graphqlUrl: "http://127.0.0.1:4000/graphql",
  explorerUrl: null,
};

/** The devnet config with `over` applied, parsed as the app parses it. */
export const testConfig = (over: Record<string, unknown> = {}): AppConfig => parseConfig({ ...DEVNET_CONFIG, ...over });
