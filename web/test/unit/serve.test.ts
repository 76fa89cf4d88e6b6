// @vitest-environment node
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serveWeb, type WebServer } from "../../scripts/serve.ts";
import { testConfig } from "./fixtures.ts";

const config = testConfig({
  chainId: 84532,
  rpcUrl: "https://sepolia.base.org",
  chainName: "Base Sepolia",
  gatewayUrl: "https://api.tollgate.example",
  graphqlUrl: "https://index.tollgate.example/graphql",
  explorerUrl: "https://sepolia.basescan.org",
});

// A tiny stand-in for web/dist so these tests do not need a build.
const dist = mkdtempSync(join(tmpdir(), "tollgate-web-dist-"));
mkdirSync(join(dist, "assets"));
writeFileSync(join(dist, "index.html"), "<!doctype html><title>Tollgate</title>");
writeFileSync(join(dist, "assets", "app.js"), `console.log(${JSON.stringify("x".repeat(4000))});`);
writeFileSync(join(dist, "llms.txt"), "# Tollgate");

describe("serveWeb", () => {
  let web: WebServer;
  beforeAll(async () => {
    web = await serveWeb({ config, port: 0, distDir: dist });
  });
  afterAll(() => web.close());

  it("answers /tollgate.config.json from the given config, uncached", async () => {
    const res = await fetch(`${web.url}/tollgate.config.json`);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual(config);
  });
  it("falls back to the app for client-side routes, but 404s missing assets", async () => {
    const page = await fetch(`${web.url}/auditor/batch/1/0`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<title>Tollgate</title>");
    expect((await fetch(`${web.url}/assets/missing.js`)).status).toBe(404);
  });
  it("serves assets gzipped and immutable, and llms.txt at the root", async () => {
    const res = await fetch(`${web.url}/assets/app.js`, { headers: { "accept-encoding": "gzip" } });
    expect(res.headers.get("content-encoding")).toBe("gzip");
    expect(res.headers.get("cache-control")).toMatch(/immutable/);
    expect(await (await fetch(`${web.url}/llms.txt`)).text()).toBe("# Tollgate");
  });
  it("lets the page talk only to the configured chain, gateway and indexer", async () => {
    const csp = (await fetch(`${web.url}/`)).headers.get("content-security-policy")!;
    expect(csp).toContain("connect-src 'self' https://sepolia.base.org https://api.tollgate.example https://index.tollgate.example;");
    expect(csp).toContain("frame-ancestors 'none'");
  });
  it("never serves files outside the build", async () => {
    const res = await fetch(`${web.url}/..%2f..%2f..%2fetc%2fpasswd`);
    expect(await res.text()).not.toContain("root:");
  });
  it("refuses a config with a wrong field, naming it", async () => {
    await expect(serveWeb({ config: { ...config, contracts: { ...config.contracts, usdc: "0xnope" } } as never, distDir: dist })).rejects.toThrow(/contracts\.usdc/);
  });
});

describe("tollgate-web CLI", () => {
  it("prints exactly the listening line and exits cleanly on SIGTERM", async () => {
    const cfg = join(dist, "..", `cfg-${process.pid}.json`);
    writeFileSync(cfg, JSON.stringify(config));
    const child = spawn(process.execPath, [fileURLToPath(new URL("../../scripts/serve.ts", import.meta.url)), "--config", cfg, "--port", "0", "--dist", dist], { stdio: ["ignore", "pipe", "pipe"] });
    const line = await new Promise<string>((ok) => child.stdout.once("data", (b: Buffer) => ok(b.toString())));
    expect(line).toMatch(/^tollgate-web listening on http:\/\/127\.0\.0\.1:\d+\n$/);
    const url = line.trim().split(" ").pop()!;
    expect((await fetch(`${url}/tollgate.config.json`)).status).toBe(200);
    child.kill("SIGTERM");
    const code = await new Promise<number | null>((ok) => child.once("exit", ok));
    expect(code).toBe(0);
  });
});
