/** wagmi for one configured network: EIP-6963 injected wallets only (no kit, nothing that calls the internet). */
import { createConfig, http, injected } from "wagmi";
import { base, baseSepolia } from "viem/chains";
import { defineChain, type Chain } from "viem";
import type { AppConfig } from "../config.ts";

export function chainOf(cfg: AppConfig): Chain {
  const known = [base, baseSepolia].find((c) => c.id === cfg.chainId);
  const explorer = cfg.explorerUrl ? { default: { name: "Explorer", url: cfg.explorerUrl } } : undefined;
  if (known) return { ...known, rpcUrls: { default: { http: [cfg.rpcUrl] } }, ...(explorer && { blockExplorers: explorer }) };
  return defineChain({
    id: cfg.chainId,
    name: cfg.chainName,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [cfg.rpcUrl] } },
    ...(explorer && { blockExplorers: explorer }),
    testnet: true,
  });
}

export function wagmiConfigFor(cfg: AppConfig) {
  const chain = chainOf(cfg);
  return createConfig({
    chains: [chain],
    // multiInjectedProviderDiscovery (EIP-6963) is on by default; `injected()` covers a lone window.ethereum.
    connectors: [injected()],
    transports: { [chain.id]: http(cfg.rpcUrl) },
    pollingInterval: 1_000,
  });
}
