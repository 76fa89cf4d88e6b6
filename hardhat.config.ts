// Hardhat 3 runs offline here: telemetry off and CI mode on before anything else loads,
// otherwise an interactive run tries to fetch a banner from the internet.
process.env.HARDHAT_DISABLE_TELEMETRY ??= "true";
process.env.CI ??= "true";

import { createRequire } from "node:module";
import hardhatToolboxViem from "@nomicfoundation/hardhat-toolbox-viem";
import { configVariable, defineConfig } from "hardhat/config";

const require = createRequire(import.meta.url);
// solc from npm (WASM): no compiler download at build time.
const solcVersion = "0.8.30";
const solcPath = require.resolve("solc/soljson.js");
const RUNS = Number(process.env.SOLC_RUNS ?? 10_000);
const compiler = (runs: number) => ({
  version: solcVersion,
  path: solcPath,
  settings: { optimizer: { enabled: true, runs }, evmVersion: "prague" },
});
// Settlement is the largest contract; fewer optimizer runs keep it under the 24,576-byte limit
// (EIP-170) while its hot loop keeps the gas figures in docs/benchmarks.md.
const SETTLEMENT_RUNS = Number(process.env.SETTLEMENT_RUNS ?? 2_000);
const profile = () => ({
  compilers: [compiler(RUNS)],
  overrides: { [`${process.env.TOLLGATE_SOURCES ?? "contracts/src"}/Settlement.sol`]: compiler(SETTLEMENT_RUNS) },
});

export default defineConfig({
  plugins: [hardhatToolboxViem],
  paths: {
    sources: process.env.TOLLGATE_SOURCES ?? "contracts/src",
    tests: { solidity: "contracts/test", nodejs: "contracts/test" },
    // Overridable so parallel builds (several worktrees or agents) never share one output folder.
    artifacts: process.env.TOLLGATE_ARTIFACTS ?? "contracts/artifacts",
    cache: process.env.TOLLGATE_CACHE ?? "contracts/cache",
    ignition: "contracts/ignition",
  },
  solidity: {
    profiles: { default: profile(), production: profile() },
  },
  test: {
    solidity: {
      // Fast profile for CI; `npm run test:deep` raises both (see package.json).
      fuzz: { runs: Number(process.env.FUZZ_RUNS ?? 256) },
      invariant: {
        runs: Number(process.env.INVARIANT_RUNS ?? 32),
        depth: Number(process.env.INVARIANT_DEPTH ?? 40),
        failOnRevert: false,
      },
    },
  },
  networks: {
    hardhatOp: { type: "edr-simulated", chainType: "op" },
    localhost: { type: "http", chainType: "op", url: process.env.RPC_URL ?? "http://127.0.0.1:8545" },
    baseSepolia: {
      type: "http",
      chainType: "op",
      chainId: 84532,
      url: configVariable("BASE_SEPOLIA_RPC_URL"),
      accounts: [configVariable("DEPLOYER_PRIVATE_KEY")],
    },
    base: {
      type: "http",
      chainType: "op",
      chainId: 8453,
      url: configVariable("BASE_RPC_URL"),
      accounts: [configVariable("DEPLOYER_PRIVATE_KEY")],
    },
  },
});
