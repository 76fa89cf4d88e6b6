/** SIWE login and API-key management. A SIWE session manages keys and reads the account; it moves no money. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import rateLimit from "@fastify/rate-limit";
import { z } from "zod";
import type { Ctx } from "../context.ts";
import { settlementAbi } from "@tollgate/protocol";
import type { LedgerState } from "../admission/ledger.ts";
import { ApiError, badRequest, notFound, rateLimited, unauthorized } from "../shared/errors.ts";
import { bearerToken } from "../auth/keys.ts";

// PostgreSQL text cannot hold U+0000: refused here as a 400 rather than failing the INSERT.
const text = (max: number) => z.string().min(1).max(max).refine((v) => !v.includes("\u0000"), "must not contain U+0000");
/** Ids the gateway issues (`key_` + 12 base64url characters); anything else is no key of yours. */
const KEY_ID = /^key_[A-Za-z0-9_-]{12}$/;

const loginBody = z.object({ message: z.string().min(1).max(4096), signature: z.string().regex(/^0x[0-9a-fA-F]+$/).max(20_000) });
const createKeyBody = z.object({
  name: text(100),
  dailySpendCap: z.string().regex(/^\d{1,18}$/, "USDC base units as a decimal string").optional(),
  models: z.array(text(256)).min(1).max(100).optional(),
});

const updateKeyBody = z
  .object({
    name: text(100).optional(),
    dailySpendCap: z.string().regex(/^\d{1,18}$/, "USDC base units as a decimal string").nullable().optional(),
    models: z.array(text(256)).min(1).max(100).nullable().optional(),
  })
  .strict()
  .refine((b) => b.name !== undefined || b.dailySpendCap !== undefined || b.models !== undefined, "send at least one of name, dailySpendCap, models");

function send(reply: FastifyReply, e: ApiError) {
  return reply.code(e.status).headers(e.headers).send(e.body());
}

export function accountRoutes(ctx: Ctx) {
  async function session(req: FastifyRequest): Promise<`0x${string}` | null> {
    const token = bearerToken(req.headers.authorization);
    return token ? ctx.siwe.session(token) : null;
  }
  return async (app: FastifyInstance) => {
    // Sign-in is the only way to write rows without a key or a session: limited per client IP, in
    // Redis when replicas share one.
    const perMinute = ctx.config.authRequestsPerMinute;
    await app.register(rateLimit, {
      global: false,
      // With Redis every replica counts in one place. Should Redis fail, sign-in stays open: the
      // limit guards against floods, and a gateway without Redis serves no requests anyway.
      ...(ctx.redis && { redis: ctx.redis, nameSpace: `${ctx.config.redisPrefix}:sign-in:`, skipOnError: true }),
      errorResponseBuilder: (_req, c) => rateLimited(`too many sign-in requests from your address; at most ${c.max} a minute, try again in ${c.after}`, c.ttl / 1000, "sign_in_rate_limited"),
    });
    const signIn = perMinute > 0 ? { config: { rateLimit: { max: perMinute, timeWindow: 60_000 } } } : {};
    app.get("/v1/auth/nonce", signIn, async () => ({ nonce: await ctx.siwe.nonce(), domain: ctx.config.publicDomain, chainId: ctx.config.chainId }));
    app.post("/v1/auth/login", signIn, async (req, reply) => {
      const body = loginBody.safeParse(req.body);
      if (!body.success) return send(reply, badRequest("body must be {message, signature}"));
      try {
        const s = await ctx.siwe.login(body.data.message, body.data.signature as `0x${string}`);
        return { session: s.session, address: s.address, expiresAt: new Date(s.expiresMs).toISOString() };
      } catch (err) {
        if (err instanceof ApiError) return send(reply, err);
        throw err;
      }
    });
    app.post("/v1/keys", async (req, reply) => {
      const account = await session(req);
      if (!account) return send(reply, unauthorized("sign in with Ethereum first", "invalid_session"));
      const body = createKeyBody.safeParse(req.body);
      if (!body.success) return send(reply, badRequest(body.error.issues[0]?.message ?? "invalid body"));
      const { key, record } = await ctx.keys.create(account, body.data.name, body.data.dailySpendCap ? BigInt(body.data.dailySpendCap) : null, body.data.models ?? null);
      return reply.code(201).send({ ...keyJson(record), key, note: "store this key now: it is shown only once" });
    });
    app.get("/v1/keys", async (req, reply) => {
      const account = await session(req);
      if (!account) return send(reply, unauthorized("sign in with Ethereum first", "invalid_session"));
      return { data: (await ctx.keys.list(account)).map(keyJson) };
    });
    app.patch<{ Params: { id: string } }>("/v1/keys/:id", async (req, reply) => {
      const account = await session(req);
      if (!account) return send(reply, unauthorized("sign in with Ethereum first", "invalid_session"));
      const body = updateKeyBody.safeParse(req.body);
      if (!body.success) return send(reply, badRequest(body.error.issues[0]?.message ?? "invalid body"));
      const { name, dailySpendCap, models } = body.data;
      if (!KEY_ID.test(req.params.id)) return send(reply, notFound("no such active key", "key_not_found"));
      const record = await ctx.keys.update(account, req.params.id, { name, dailyCap: dailySpendCap === undefined ? undefined : dailySpendCap === null ? null : BigInt(dailySpendCap), models });
      if (!record) return send(reply, notFound("no such active key", "key_not_found"));
      return keyJson(record);
    });
    app.delete<{ Params: { id: string } }>("/v1/keys/:id", async (req, reply) => {
      const account = await session(req);
      if (!account) return send(reply, unauthorized("sign in with Ethereum first", "invalid_session"));
      if (!KEY_ID.test(req.params.id) || !(await ctx.keys.revoke(account, req.params.id))) return send(reply, notFound("no such active key", "key_not_found"));
      return reply.code(204).send();
    });
    app.get("/v1/account", async (req, reply) => {
      const account = await session(req);
      if (!account) return send(reply, unauthorized("sign in with Ethereum first", "invalid_session"));
      const customer = account.toLowerCase();
      const [s, tier, withdrawal] = await Promise.all([ctx.ledger.snapshot(customer), ctx.tierOf(customer), pendingWithdrawal(ctx, account)]);
      return accountJson(account, tier.name, s, withdrawal);
    });
  };
}

function keyJson(k: { id: string; name: string; dailyCap: bigint | null; models: string[] | null; createdMs: number; revokedMs: number | null; last4: string }) {
  return {
    id: k.id,
    name: k.name,
    last4: k.last4,
    dailySpendCap: k.dailyCap?.toString() ?? null,
    models: k.models,
    createdAt: new Date(k.createdMs).toISOString(),
    revokedAt: k.revokedMs ? new Date(k.revokedMs).toISOString() : null,
  };
}

type Withdrawal = { amount: bigint; unlockAt: number } | null;

/** The pending withdrawal, read live from the chain (one eth_call); null when the RPC does not answer. */
async function pendingWithdrawal(ctx: Ctx, account: `0x${string}`): Promise<Withdrawal> {
  try {
    const [, pending, unlockAt] = await ctx.publicClient.readContract({ address: ctx.config.settlement, abi: settlementAbi, functionName: "accountOf", args: [account] });
    return { amount: pending, unlockAt: Number(unlockAt) };
  } catch (err) {
    ctx.log.warn({ err: { message: (err as Error).message } }, "accountOf read failed; pending withdrawal omitted");
    return null;
  }
}

/**
 * The balance buckets the dApp shows, in USDC base units as decimal strings:
 * spendable = available − reserved − unsettled − debt (never negative here; the ledger may dip below
 * zero only when a settled batch lowered `available` under what is still in flight).
 */
export function accountJson(address: string, tier: string, s: LedgerState, w: Withdrawal) {
  const spendable = s.available - s.debt - s.spent - s.reserved;
  return {
    address,
    tier,
    available: s.available.toString(),
    reserved: s.reserved.toString(),
    unsettled: s.spent.toString(),
    debt: s.debt.toString(),
    spendable: (spendable > 0n ? spendable : 0n).toString(),
    pendingWithdrawal: w ? { amount: w.amount.toString(), unlockAt: w.amount > 0n && w.unlockAt > 0 ? new Date(w.unlockAt * 1000).toISOString() : null } : null,
    asOfBlock: s.block.toString(),
  };
}
