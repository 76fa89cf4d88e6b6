/**
 * wagmi + react-query, loaded only by the parts that talk to a chain or a server, so the start and
 * help pages render without downloading them. One wagmi config and one query client per page load:
 * every <Web3> boundary (header wallet, page) shares the same connection state.
 */
import { useMemo, type ReactNode } from "react";
import { WagmiProvider } from "wagmi";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import type { AppConfig } from "./config.ts";
import { wagmiConfigFor } from "./chain/wagmi.ts";
import { useAppConfig } from "./lib/config-context.tsx";

let shared: { cfg: AppConfig; wagmi: ReturnType<typeof wagmiConfigFor>; queryClient: QueryClient } | null = null;

function clients(cfg: AppConfig) {
  if (!shared || shared.cfg !== cfg) {
    shared = { cfg, wagmi: wagmiConfigFor(cfg), queryClient: new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } } }) };
  }
  return shared;
}

export function Web3({ children }: { children: ReactNode }) {
  const cfg = useAppConfig();
  const { wagmi, queryClient } = useMemo(() => clients(cfg), [cfg]);
  return (
    <WagmiProvider config={wagmi} reconnectOnMount>
      <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
    </WagmiProvider>
  );
}
