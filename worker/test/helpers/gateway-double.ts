/**
 * TEST DOUBLE of the gateway's worker endpoints (docs/worker-protocol.md) — the other side of the
 * protocol, written here so the worker can be tested before the real gateway exists. It verifies
 * the EIP-712 signature with viem's verifyTypedData and stands in for the on-chain authorization
 * check with an allow-list of worker addresses.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { getAddress, type Address } from "viem";
import type { WorkerRegistration } from "@tollgate/protocol/eip712";
import { registrationFromWire, registrationRequestSchema, verifyWorkerRegistration } from "@tollgate/protocol/worker-registration";

export type Registration = WorkerRegistration & { workerId: string; token: string };
export type HeartbeatRecord = { workerId: string; at: number; body: any };

export type GatewayDouble = {
  url: string;
  chainId: number;
  registry: Address;
  gatewayAddress: Address;
  registrations: Registration[];
  heartbeats: HeartbeatRecord[];
  deregistrations: string[];
  /** Forget all workers, as a restarted gateway would. */
  forgetAll(): void;
  /** Forget all workers and de-authorize every key, as after ProviderRegistry.revokeWorker. */
  revokeAll(): void;
  waitFor<T>(pick: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
};

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
const refuse = (res: ServerResponse, status: number, message: string, code: string) =>
  json(res, status, { error: { message, type: status === 401 ? "authentication_error" : "permission_error", code } });

async function readJson(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) parts.push(c);
  return JSON.parse(Buffer.concat(parts).toString() || "null");
}

export async function startGatewayDouble(opts: {
  /** Worker addresses whose provider authorized them (stand-in for ProviderRegistry). */
  authorized: { worker: Address; provider: Address }[];
  heartbeatIntervalMs?: number;
  chainId?: number;
}): Promise<GatewayDouble> {
  const chainId = opts.chainId ?? 31337;
  const registry = getAddress("0x5fbdb2315678afecb367f032d93f642f64180aa3");
  const gatewayAddress = getAddress("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
  const registrations: Registration[] = [];
  const heartbeats: HeartbeatRecord[] = [];
  const deregistrations: string[] = [];
  const live = new Map<string, Registration>();
  let n = 0;

  const server = createServer(async (req, res) => {
    try {
      const path = (req.url ?? "").split("?")[0]!;
      if (req.method === "POST" && path === "/v1/workers/register") {
        const parsed = registrationRequestSchema.safeParse(await readJson(req));
        if (!parsed.success) return refuse(res, 400, "bad registration body", "invalid_request");
        const message = registrationFromWire(parsed.data.registration);
        const valid = await verifyWorkerRegistration(message, parsed.data.signature as `0x${string}`, chainId, registry);
        if (!valid) return refuse(res, 401, "registration signature does not match the worker address", "bad_signature");
        if (message.gateway !== gatewayAddress) return refuse(res, 403, "registration is for another gateway", "wrong_gateway");
        const now = BigInt(Math.floor(Date.now() / 1000));
        if (message.expiresAt <= now || message.issuedAt > now + 60n) return refuse(res, 401, "registration expired", "expired");
        const ok = opts.authorized.some((a) => a.worker === message.worker && a.provider === message.provider);
        if (!ok) return refuse(res, 403, "worker key is not authorized on-chain by this provider", "worker_not_authorized");
        const reg: Registration = { ...message, workerId: `w-${++n}`, token: randomBytes(32).toString("hex") };
        registrations.push(reg);
        live.set(reg.workerId, reg);
        return json(res, 200, { workerId: reg.workerId, token: reg.token, heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 100 });
      }
      const m = /^\/v1\/workers\/([^/]+)(\/heartbeat)?$/.exec(path);
      if (m) {
        const reg = live.get(decodeURIComponent(m[1]!));
        if (!reg) return refuse(res, 404, "unknown worker", "unknown_worker");
        if (req.headers.authorization !== `Bearer ${reg.token}`) return refuse(res, 401, "bad token", "bad_token");
        if (req.method === "POST" && m[2]) {
          heartbeats.push({ workerId: reg.workerId, at: Date.now(), body: await readJson(req) });
          return json(res, 200, { ok: true });
        }
        if (req.method === "DELETE" && !m[2]) {
          live.delete(reg.workerId);
          deregistrations.push(reg.workerId);
          res.writeHead(204).end();
          return;
        }
      }
      refuse(res, 404, "not found", "not_found");
    } catch {
      refuse(res, 500, "gateway double failed", "internal");
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    chainId,
    registry,
    gatewayAddress,
    registrations,
    heartbeats,
    deregistrations,
    forgetAll: () => live.clear(),
    revokeAll: () => {
      live.clear();
      opts.authorized.length = 0;
    },
    async waitFor(pick, timeoutMs = 5000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const v = pick();
        if (v !== undefined && v !== null && v !== false) return v as never;
        if (Date.now() > end) throw new Error("gateway double: condition not met in time");
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
