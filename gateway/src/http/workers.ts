/** The gateway side of docs/worker-protocol.md: register, heartbeat, deregister. Checks in the documented order. */
import type { FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import { zeroAddress, type Address } from "viem";
import { registrationFromWire, registrationRequestSchema, verifyWorkerRegistration } from "@tollgate/protocol/worker-registration";
import type { Ctx } from "../context.ts";
import { endpointAllowed } from "../routing/ssrf.ts";
import { publicModelName } from "../routing/registry.ts";

const heartbeatBody = z.object({
  inFlight: z.number().int().min(0),
  maxConcurrency: z.number().int().min(1),
  draining: z.boolean(),
  health: z.object({ score: z.number().min(0).max(1), upstreamOk: z.boolean(), consecutiveFailures: z.number().int().min(0) }),
  gpu: z.array(z.unknown()).optional(),
});

function refuse(reply: FastifyReply, status: number, code: string, message: string) {
  const type = status === 400 ? "invalid_request_error" : status === 401 ? "authentication_error" : status === 409 ? "conflict_error" : "permission_error";
  return reply.code(status).send({ error: { message, type, param: null, code } });
}

export function workerRoutes(ctx: Ctx) {
  return async (app: FastifyInstance) => {
    app.post("/v1/workers/register", async (req, reply) => {
      const parsed = registrationRequestSchema.safeParse(req.body);
      if (!parsed.success) return refuse(reply, 400, "invalid_request", "registration body does not match the schema");
      const message = registrationFromWire(parsed.data.registration);
      const valid = await verifyWorkerRegistration(message, parsed.data.signature as `0x${string}`, ctx.config.chainId, ctx.config.registry);
      if (!valid) return refuse(reply, 401, "bad_signature", "registration signature does not match the worker address");
      const now = BigInt(Math.floor(Date.now() / 1000));
      if (message.issuedAt > now + 60n || now >= message.expiresAt) return refuse(reply, 401, "expired", "registration expired or issued in the future");
      if (message.gateway !== ctx.signer.address) return refuse(reply, 403, "wrong_gateway", "registration is for another gateway");
      let provider: Address;
      try {
        provider = await ctx.reads.providerOfWorker(message.worker);
      } catch {
        return refuse(reply, 503, "chain_unavailable", "cannot reach the chain to check the registration; retry");
      }
      if (provider === zeroAddress || provider !== message.provider) return refuse(reply, 403, "worker_not_authorized", "worker key is not authorized on-chain by this provider");
      if (!(await ctx.reads.isActive(message.provider, true))) return refuse(reply, 403, "provider_not_routable", "provider is not registered, active and staked");
      const names = message.models.map(publicModelName);
      for (const name of names) {
        const price = await ctx.reads.price(message.provider, name, true);
        if (!price.served) return refuse(reply, 403, "model_not_offered", `provider does not list \`${name}\` with a price`);
      }
      const policy = endpointAllowed(message.endpoint, ctx.config.devnet);
      if (!policy.ok) return refuse(reply, 403, "endpoint_refused", `endpoint refused: ${policy.reason}`);
      const last = await ctx.registry.lastIssuedAt(message.worker);
      if (last !== null && message.issuedAt <= last) return refuse(reply, 409, "stale_registration", "a newer registration of this worker was already accepted");
      const { id, token } = await ctx.registry.register({ ...message, endpoint: message.endpoint.replace(/\/+$/, ""), models: names });
      ctx.log.info({ workerId: id, worker: message.worker, provider: message.provider, models: names }, "worker registered");
      return { workerId: id, token, heartbeatIntervalMs: ctx.config.heartbeatIntervalMs };
    });

    app.post<{ Params: { id: string } }>("/v1/workers/:id/heartbeat", async (req, reply) => {
      const w = await ctx.registry.authenticateOrLoad(req.params.id, req.headers.authorization);
      if (!w) return refuse(reply, 404, "unknown_worker", "unknown worker or token; register again");
      const body = heartbeatBody.safeParse(req.body);
      if (!body.success) return refuse(reply, 400, "invalid_request", "heartbeat body does not match the schema");
      await ctx.registry.heartbeat(w, body.data);
      return reply.code(204).send();
    });

    app.delete<{ Params: { id: string } }>("/v1/workers/:id", async (req, reply) => {
      const w = await ctx.registry.authenticateOrLoad(req.params.id, req.headers.authorization);
      if (!w) return refuse(reply, 404, "unknown_worker", "unknown worker or token");
      await ctx.registry.remove(w.id);
      ctx.log.info({ workerId: w.id }, "worker deregistered");
      return reply.code(204).send();
    });
  };
}
