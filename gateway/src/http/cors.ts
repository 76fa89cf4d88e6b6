/**
 * CORS for the dApp, which runs on another origin: only the routes it calls (sign-in, keys, account,
 * status, receipts and batches) answer cross-origin requests, and only for TOLLGATE_CORS_ORIGINS.
 * Inference routes stay server-to-server: an API key does not belong in a web page.
 */
import cors from "@fastify/cors";
import type { FastifyInstance } from "fastify";

const DAPP_ROUTES = [/^\/v1\/auth\//, /^\/v1\/keys(\/|\?|$)/, /^\/v1\/account(\?|$)/, /^\/status(\?|$)/, /^\/v1\/receipts\//, /^\/v1\/batches\//];

export function isDappRoute(url: string): boolean {
  return DAPP_ROUTES.some((r) => r.test(url));
}

export async function registerCors(app: FastifyInstance, origins: string[]): Promise<void> {
  if (origins.length === 0) return;
  const any = origins.includes("*");
  await app.register(cors, {
    // Decided per request: other routes (and other origins) get no CORS headers, so browsers refuse them.
    delegator: (req, cb) => {
      if (!isDappRoute(req.url ?? "")) return cb(null, { origin: false });
      cb(null, {
        origin: any ? "*" : origins,
        methods: ["GET", "POST", "PATCH", "DELETE"],
        allowedHeaders: ["authorization", "content-type"],
        exposedHeaders: ["x-request-id"],
        maxAge: 600,
      });
    },
  });
}
