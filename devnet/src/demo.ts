/**
 * The demo network: who is who on the devnet chain, and how each demo provider's simulated GPU
 * behaves. Every key here is one of anvil's public test keys or derived from a public string:
 * devnet only, never on a real network.
 */
import { keccak256, toHex, type Hex } from "viem";
import { ANVIL_KEYS } from "@tollgate/protocol/devnet";

export const GATEWAY_ID = 1;

/** anvil account index of each demo role. Indexes 6–9 stay free for tests and experiments. */
export const ACCOUNT_INDEX = { deployer: 0, gatewaySigner: 1, providers: [2, 3, 4], customer: 5 } as const;

export const MAIN_MODEL = "sim-llama-3.1-8b-instruct";
export const SLOW_MODEL = "sim-mistral-7b-instruct";

export type Behaviour = {
  /** Median time to first token, ms, and its log-normal spread. */
  ttftMs: number;
  ttftSigma: number;
  tokensPerSecond: number;
  /** Share of requests failing before the first token (the gateway fails over). */
  errorRate: number;
  /** What a person watching should expect of this provider. */
  summary: string;
};

export type DemoModel = { name: string; promptPrice: bigint; completionPrice: bigint; contextLength: number };

export type DemoProvider = {
  name: string;
  region: string;
  gpuModel: string;
  vramGb: number;
  models: DemoModel[];
  stake: bigint;
  behaviour: Behaviour;
};

const usdcPerMillion = (dollars: number) => BigInt(Math.round(dollars * 1e6));

/** All three demo providers bond the same 5,000 test USDC. */
const DEMO_STAKE = 5_000_000_000n;
/** A model a demo provider lists, priced in dollars per million tokens, with an 8k context. */
const demoModel = (name: string, promptDollars: number, completionDollars: number): DemoModel => ({
  name,
  promptPrice: usdcPerMillion(promptDollars),
  completionPrice: usdcPerMillion(completionDollars),
  contextLength: 8192,
});
const demoProvider = (p: Omit<DemoProvider, "models" | "stake"> & { model: DemoModel }): DemoProvider => {
  const { model, ...rest } = p;
  return { ...rest, models: [model], stake: DEMO_STAKE };
};
/** The main model at the one price fast and steady both charge. */
const MAIN_LISTING = demoModel(MAIN_MODEL, 0.2, 0.6);

/**
 * Fast and steady share the main model at one price, so routing spreads traffic between them by
 * latency and load. The slow provider alone serves a second model and breaches the p95 TTFT target
 * (1.5 s) on every window, so its SLA reports carry credits.
 */
export const DEMO_PROVIDERS: DemoProvider[] = [
  demoProvider({
    name: "Fast GPU Co",
    region: "eu-west",
    gpuModel: "NVIDIA H100 80GB (simulated)",
    vramGb: 80,
    model: MAIN_LISTING,
    behaviour: { ttftMs: 60, ttftSigma: 0.2, tokensPerSecond: 120, errorRate: 0, summary: "fast and reliable" },
  }),
  demoProvider({
    name: "Steady Compute",
    region: "us-east",
    gpuModel: "NVIDIA A100 40GB (simulated)",
    vramGb: 40,
    model: MAIN_LISTING,
    behaviour: { ttftMs: 300, ttftSigma: 0.3, tokensPerSecond: 40, errorRate: 0.03, summary: "slower, 3% of requests fail before the first token (the gateway fails over)" },
  }),
  demoProvider({
    name: "Slow Silicon",
    region: "ap-south",
    gpuModel: "NVIDIA T4 16GB (simulated)",
    vramGb: 16,
    model: demoModel(SLOW_MODEL, 1, 3),
    behaviour: { ttftMs: 2_200, ttftSigma: 0.15, tokensPerSecond: 25, errorRate: 0, summary: "breaches the SLA: p95 time to first token above 1.5 s" },
  }),
];

/** Demo customer's test USDC: minted, and the part deposited into escrow with a permit. */
export const CUSTOMER_MINT = 1_000_000_000n; // 1,000 USDC
export const CUSTOMER_DEPOSIT = 500_000_000n; // 500 USDC

/** One worker key per demo provider, stable across runs so a kept devnet finds them authorized. */
export function workerKey(providerIndex: number): Hex {
  return keccak256(toHex(`tollgate devnet worker ${providerIndex} (public, devnet only)`));
}

export function anvilKey(index: number): Hex {
  const key = ANVIL_KEYS[index];
  if (!key) throw new Error(`no anvil key ${index}`);
  return key;
}

/**
 * SLA policy on devnet: the market's schedule with a small minimum of requests, so a one-minute
 * window of probes and demo traffic can earn credits (the production default needs 1,000).
 */
export const DEVNET_MIN_SLA_REQUESTS = 5;
