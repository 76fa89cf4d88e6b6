/**
 * The gateway's account API: Sign-In with Ethereum, API keys, the account's balance view, worker
 * status and published receipts. Every answer is validated; errors surface the gateway's own message.
 */
import { z } from "zod";

const errorBody = z.object({ error: z.object({ message: z.string(), code: z.string().nullable().optional() }) });

export class GatewayError extends Error {
  constructor(readonly status: number, message: string, readonly code?: string | null) {
    super(message);
  }
}

async function call<T>(base: string, path: string, schema: z.ZodType<T>, init: RequestInit & { session?: string } = {}): Promise<T> {
  const headers: Record<string, string> = { ...(init.body ? { "content-type": "application/json" } : {}) };
  if (init.session) headers.authorization = `Bearer ${init.session}`;
  let res: Response;
  try {
    res = await fetch(`${base.replace(/\/$/, "")}${path}`, { ...init, headers });
  } catch {
    throw new GatewayError(0, "The gateway cannot be reached. Check your connection, or the status page.");
  }
  if (res.status === 204) return schema.parse(undefined);
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const e = errorBody.safeParse(body);
    throw new GatewayError(res.status, e.success ? e.data.error.message : `the gateway answered HTTP ${res.status}`, e.success ? e.data.error.code : null);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new GatewayError(res.status, "the gateway sent an answer this page does not understand");
  return parsed.data;
}

export const nonceSchema = z.object({ nonce: z.string(), domain: z.string(), chainId: z.number() });
export const loginSchema = z.object({ session: z.string(), address: z.string(), expiresAt: z.string() });
export const keySchema = z.object({
  id: z.string(),
  name: z.string(),
  last4: z.string(),
  dailySpendCap: z.string().nullable(),
  models: z.array(z.string()).nullable(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});
export type ApiKey = z.infer<typeof keySchema>;
export const accountSchema = z.object({
  address: z.string(),
  tier: z.string(),
  available: z.string().optional(),
  debt: z.string().optional(),
  unsettled: z.string().optional(),
  reserved: z.string().optional(),
  spendable: z.string().optional(),
});
export type GatewayAccount = z.infer<typeof accountSchema>;
const sli = z.record(z.string(), z.unknown()).nullable().optional();
export const statusSchema = z.object({
  status: z.string(),
  chainId: z.number(),
  workers: z.array(
    z.object({
      id: z.string(),
      provider: z.string(),
      models: z.array(z.string()),
      alive: z.boolean(),
      draining: z.boolean(),
      inFlight: z.number(),
      maxConcurrency: z.number(),
      ttftEwmaMs: z.number(),
      coolingDown: z.boolean(),
    }),
  ),
  providers: z.array(z.object({ provider: z.string(), sli })),
});
export type GatewayStatus = z.infer<typeof statusSchema>;

export const gateway = {
  nonce: (base: string) => call(base, "/v1/auth/nonce", nonceSchema),
  login: (base: string, message: string, signature: string) => call(base, "/v1/auth/login", loginSchema, { method: "POST", body: JSON.stringify({ message, signature }) }),
  account: (base: string, session: string) => call(base, "/v1/account", accountSchema, { session }),
  keys: (base: string, session: string) => call(base, "/v1/keys", z.object({ data: z.array(keySchema) }), { session }).then((r) => r.data),
  createKey: (base: string, session: string, body: { name: string; dailySpendCap?: string }) =>
    call(base, "/v1/keys", keySchema.extend({ key: z.string() }), { method: "POST", session, body: JSON.stringify(body) }),
  updateKey: (base: string, session: string, id: string, body: { name?: string; dailySpendCap?: string | null; models?: string[] | null }) =>
    call(base, `/v1/keys/${encodeURIComponent(id)}`, keySchema, { method: "PATCH", session, body: JSON.stringify(body) }),
  revokeKey: (base: string, session: string, id: string) => call(base, `/v1/keys/${encodeURIComponent(id)}`, z.undefined(), { method: "DELETE", session }),
  status: (base: string) => call(base, "/status", statusSchema),
};

/** Sessions live in sessionStorage per address: closing the tab signs out. */
export const sessions = {
  get: (address: string) => sessionStorage.getItem(`tollgate.session.${address.toLowerCase()}`),
  set: (address: string, session: string) => sessionStorage.setItem(`tollgate.session.${address.toLowerCase()}`, session),
  clear: (address: string) => sessionStorage.removeItem(`tollgate.session.${address.toLowerCase()}`),
};
