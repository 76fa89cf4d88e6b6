/**
 * Working on the dApp against the devnet (docs/web.md): `npm start -- --no-web` leaves port 5173 to
 * `npm run dev -w web`. The devnet still writes the dApp's tollgate.config.json, and its gateway
 * answers the dev server's origin (before, without the devnet's own dApp the gateway sent no CORS
 * headers at all, so a dev dApp could not sign in, create keys or read status).
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { HAS_INDEXER, NO_INDEXER_REASON, startTestNet, type TestNet } from "./helpers.ts";

let net: TestNet;
before(async () => {
  net = await startTestNet({ web: false, indexer: HAS_INDEXER });
});
after(async () => {
  await net?.close();
});

describe("the devnet without its own dApp", () => {
  it("lets a dApp dev server on Vite's default origin call the gateway, and no other origin", async () => {
    for (const origin of ["http://localhost:5173", "http://127.0.0.1:5173"]) {
      const preflight = await fetch(`${net.manifest.gatewayUrl}/v1/auth/nonce`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "GET" },
      });
      assert.equal(preflight.headers.get("access-control-allow-origin"), origin, `preflight from ${origin}`);
      const nonce = await fetch(`${net.manifest.gatewayUrl}/v1/auth/nonce`, { headers: { origin } });
      assert.equal(nonce.status, 200);
      assert.equal(nonce.headers.get("access-control-allow-origin"), origin);
    }
    const other = await fetch(`${net.manifest.gatewayUrl}/v1/auth/nonce`, { headers: { origin: "http://evil.example" } });
    assert.equal(other.headers.get("access-control-allow-origin"), null);
  });

  it("writes the dApp's tollgate.config.json for this devnet, to copy to web/public/", { skip: HAS_INDEXER ? false : NO_INDEXER_REASON }, () => {
    const path = join(net.manifest.dataDir, "tollgate.config.json");
    assert.ok(existsSync(path), `${path} exists`);
    const cfg = JSON.parse(readFileSync(path, "utf8")) as { chainId: number; gatewayUrl: string; graphqlUrl: string; rpcUrl: string; contracts: { settlement: string } };
    assert.equal(cfg.chainId, net.manifest.chainId);
    assert.equal(cfg.gatewayUrl, net.manifest.gatewayUrl);
    assert.equal(cfg.graphqlUrl, net.manifest.graphqlUrl);
    assert.equal(cfg.rpcUrl, net.manifest.rpcUrl);
    assert.equal(cfg.contracts.settlement, net.manifest.deployment.contracts.settlement);
  });
});
