import { lazy, Suspense, useMemo } from "react";
import { WagmiProvider } from "wagmi";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import type { AppConfig } from "./config.ts";
import { wagmiConfigFor } from "./chain/wagmi.ts";
import { ConfigContext } from "./lib/config-context.tsx";
import { Link, usePath } from "./lib/router.tsx";
import { WalletButton } from "./components/Wallet.tsx";

// Code-split per route: a visitor downloads only the page they open.
const pages = {
  home: lazy(() => import("./pages/Home.tsx")),
  customer: lazy(() => import("./pages/Customer.tsx")),
  provider: lazy(() => import("./pages/Provider.tsx")),
  auditor: lazy(() => import("./pages/Auditor.tsx")),
  status: lazy(() => import("./pages/Status.tsx")),
  help: lazy(() => import("./pages/Help.tsx")),
};

function pageFor(path: string) {
  const first = path.split("/")[1] ?? "";
  if (first in pages && first !== "home") return pages[first as keyof typeof pages];
  return path === "/" ? pages.home : null;
}

export function Shell() {
  const path = usePath();
  const Page = pageFor(path);
  return (
    <>
      <header className="top">
        <Link to="/" className="brand">Tollgate</Link>
        <nav>
          <Link to="/customer">Customer</Link>
          <Link to="/provider">Provider</Link>
          <Link to="/auditor">Auditor</Link>
          <Link to="/status">Status</Link>
          <Link to="/help">Help</Link>
        </nav>
        <WalletButton />
      </header>
      <main>
        <Suspense fallback={<p className="muted">Loading…</p>}>
          {Page ? <Page /> : <section><h1>Not found</h1><p>No page at {path}. <Link to="/">Go to the start page</Link>.</p></section>}
        </Suspense>
      </main>
    </>
  );
}

export function Root({ config }: { config: AppConfig }) {
  const wagmi = useMemo(() => wagmiConfigFor(config), [config]);
  const queryClient = useMemo(() => new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } } }), []);
  return (
    <ConfigContext.Provider value={config}>
      <WagmiProvider config={wagmi}>
        <QueryClientProvider client={queryClient}>
          <Shell />
        </QueryClientProvider>
      </WagmiProvider>
    </ConfigContext.Provider>
  );
}
