#!/usr/bin/env node
/**
 * tollgate-web: serve the built dApp (web/dist) with SPA fallback, and answer /tollgate.config.json
 * from a config file so one build serves any network.
 *
 *   node web/scripts/serve.ts --config path/to/tollgate.config.json [--port 0] [--host 127.0.0.1] [--dist web/dist]
 *
 * Prints exactly "tollgate-web listening on http://HOST:PORT" once ready; exits cleanly on SIGTERM/SIGINT.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import type { AddressInfo } from "node:net";
import { parseConfig, type AppConfig } from "../src/config.ts";

const DEFAULT_DIST = fileURLToPath(new URL("../dist", import.meta.url));
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
};
const COMPRESSIBLE = new Set([".html", ".js", ".css", ".json", ".txt", ".svg"]);

export type ServeOptions = { port?: number; host?: string; distDir?: string } & ({ configPath: string } | { config: AppConfig });
export type WebServer = { url: string; close(): Promise<void> };

function readConfig(opts: ServeOptions): AppConfig {
  if ("config" in opts) return parseConfig(opts.config);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(opts.configPath, "utf8"));
  } catch (err) {
    throw new Error(`cannot read the config ${opts.configPath}: ${(err as Error).message}`);
  }
  return parseConfig(raw);
}

/** The page may talk only to its own origin and the configured chain, gateway and indexer. */
function securityHeaders(cfg: AppConfig): Record<string, string> {
  const origins = [...new Set([cfg.rpcUrl, cfg.gatewayUrl, cfg.graphqlUrl].map((u) => new URL(u).origin))].join(" ");
  return {
    "content-security-policy": `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ${origins}; frame-ancestors 'none'; base-uri 'self'; form-action 'self'`,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };
}

export async function serveWeb(opts: ServeOptions): Promise<WebServer> {
  const cfg = readConfig(opts);
  const dist = resolve(opts.distDir ?? DEFAULT_DIST);
  if (!existsSync(join(dist, "index.html"))) throw new Error(`no build at ${dist}: run "npm run build:web" first`);
  const headers = securityHeaders(cfg);
  const configBody = Buffer.from(JSON.stringify(cfg));
  const cache = new Map<string, { body: Buffer; gz: Buffer | null }>();

  const load = (file: string) => {
    let hit = cache.get(file);
    if (!hit) {
      const body = readFileSync(file);
      hit = { body, gz: COMPRESSIBLE.has(extname(file)) && body.length > 1024 ? gzipSync(body) : null };
      cache.set(file, hit);
    }
    return hit;
  };

  // Compress everything up front: the first visitor should not wait for gzip.
  const warm = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) warm(full);
      else if (entry.isFile()) load(full);
    }
  };
  warm(dist);

  const send = (req: IncomingMessage, res: ServerResponse, file: string, cacheControl: string) => {
    const { body, gz } = load(file);
    const useGz = gz && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
    res.writeHead(200, {
      ...headers,
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      "cache-control": cacheControl,
      vary: "accept-encoding",
      ...(useGz && { "content-encoding": "gzip" }),
      "content-length": (useGz ? gz : body).length,
    });
    res.end(req.method === "HEAD" ? undefined : useGz ? gz : body);
  };

  const server = createServer((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    } catch {
      res.writeHead(400).end("bad path");
      return;
    }
    if (path === "/tollgate.config.json") {
      res.writeHead(200, { ...headers, "content-type": TYPES[".json"]!, "cache-control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : configBody);
      return;
    }
    const file = normalize(join(dist, path));
    if (file.startsWith(dist + sep) && existsSync(file) && statSync(file).isFile()) {
      send(req, res, file, path.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache");
      return;
    }
    // Unknown asset paths are real 404s; page paths fall back to the app (client-side routes).
    if (path.startsWith("/assets/") || extname(path)) {
      res.writeHead(404, { ...headers, "content-type": "text/plain" }).end("not found");
      return;
    }
    send(req, res, join(dist, "index.html"), "no-cache");
  });

  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(opts.port ?? 0, host, () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    close: () => new Promise<void>((ok) => {
      server.close(() => ok());
      server.closeAllConnections();
    }),
  };
}

async function main() {
  const { values } = parseArgs({
    options: { config: { type: "string" }, port: { type: "string", default: "8090" }, host: { type: "string", default: "127.0.0.1" }, dist: { type: "string" }, help: { type: "boolean" } },
  });
  if (values.help || !values.config) {
    console.log("usage: tollgate-web --config <tollgate.config.json> [--port P (0 = free)] [--host 127.0.0.1] [--dist web/dist]");
    process.exit(values.help ? 0 : 2);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`tollgate-web: --port must be 0..65535, got ${values.port}`);
    process.exit(2);
  }
  let web: WebServer;
  try {
    web = await serveWeb({ configPath: values.config, port, host: values.host, ...(values.dist && { distDir: values.dist }) });
  } catch (err) {
    console.error(`tollgate-web: ${(err as Error).message}`);
    process.exit(1);
  }
  const stop = () => void web.close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  console.log(`tollgate-web listening on ${web.url}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) void main();
