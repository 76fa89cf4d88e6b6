/**
 * The worker's calls to the gateway (see docs/worker-protocol.md): register, heartbeat, deregister.
 * Every answer is validated; a refusal (4xx on register) is final, anything else is retryable.
 */
import { request } from "undici";
import { z } from "zod";
import type { GpuStat } from "./gpu.ts";
import type { HealthSnapshot } from "./health.ts";

export const registerResponseSchema = z.object({
  workerId: z.string().regex(/^[A-Za-z0-9._:-]{1,200}$/),
  token: z.string().min(16).max(4096),
  heartbeatIntervalMs: z.number().int().min(100).max(600_000),
});
export type Registered = z.infer<typeof registerResponseSchema>;

const errorBodySchema = z.object({ error: z.object({ message: z.string(), code: z.string().nullish() }) });

export type HeartbeatBody = {
  inFlight: number;
  maxConcurrency: number;
  draining: boolean;
  health: HealthSnapshot;
  gpu?: GpuStat[];
};

/** The gateway refused the registration (bad signature, key not authorized, unknown provider…). */
export class RegistrationRefusedError extends Error {
  status: number;
  code: string | null;
  constructor(status: number, message: string, code: string | null) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class GatewayUnavailableError extends Error {}

const TIMEOUT_MS = 10_000;

export class GatewayClient {
  private readonly base: string;

  constructor(baseUrl: string) {
    this.base = baseUrl.replace(/\/+$/, "");
  }

  async register(body: { registration: Record<string, unknown>; signature: string }): Promise<Registered> {
    let res;
    try {
      res = await request(`${this.base}/v1/workers/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      throw new GatewayUnavailableError(`gateway unreachable: ${(err as Error).message}`);
    }
    const text = await res.body.text();
    if (res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 429) {
      const parsed = errorBodySchema.safeParse(safeJson(text));
      const message = parsed.success ? parsed.data.error.message : `HTTP ${res.statusCode}`;
      throw new RegistrationRefusedError(res.statusCode, message, parsed.success ? (parsed.data.error.code ?? null) : null);
    }
    if (res.statusCode !== 200) throw new GatewayUnavailableError(`gateway answered HTTP ${res.statusCode}`);
    const parsed = registerResponseSchema.safeParse(safeJson(text));
    if (!parsed.success) throw new GatewayUnavailableError("gateway sent an invalid registration answer");
    return parsed.data;
  }

  /** "gone" when the gateway no longer knows this worker (restart, expiry): register again. */
  async heartbeat(workerId: string, token: string, body: HeartbeatBody): Promise<"ok" | "gone"> {
    const res = await request(`${this.base}/v1/workers/${encodeURIComponent(workerId)}/heartbeat`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await res.body.dump();
    if (res.statusCode === 401 || res.statusCode === 403 || res.statusCode === 404) return "gone";
    if (res.statusCode >= 300) throw new GatewayUnavailableError(`heartbeat answered HTTP ${res.statusCode}`);
    return "ok";
  }

  async deregister(workerId: string, token: string): Promise<void> {
    const res = await request(`${this.base}/v1/workers/${encodeURIComponent(workerId)}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await res.body.dump();
    if (res.statusCode >= 300 && res.statusCode !== 404) throw new GatewayUnavailableError(`deregister answered HTTP ${res.statusCode}`);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
