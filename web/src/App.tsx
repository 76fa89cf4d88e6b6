import { lazy, Suspense } from "react";
import type { AppConfig } from "./config.ts";
import { ConfigContext } from "./lib/config-context.tsx";
import { Link, usePath } from "./lib/router.tsx";
import HomePage from "./pages/Home.tsx";

// Code-split per route: a visitor downloads only the page they open. The start page is in the
// initial chunk (it is small and is what a first visit renders); wagmi comes with the pages that use it.
const pages = {
  customer: lazy(() => import("./pages/Customer.tsx")),
  provider: lazy(() => import("./pages/Provider.tsx")),
  auditor: lazy(() => import("./pages/Auditor.tsx")),
  status: lazy(() => import("./pages/Status.tsx")),
  help: lazy(() => import("./pages/Help.tsx")),
};
const WalletArea = lazy(() => import("./components/WalletArea.tsx"));

function pageFor(path: string) {
  if (path === "/") return HomePage;
  const first = path.split("/")[1] ?? "";
  return first in pages ? pages[first as keyof typeof pages] : null;
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
        <Suspense fallback={<span className="muted">wallet…</span>}>
          <WalletArea />
        </Suspense>
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
  return (
    <ConfigContext.Provider value={config}>
      <Shell />
    </ConfigContext.Provider>
  );
}
