/** The OpenAI-compatible surface: chat completions, legacy completions, models. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Ctx } from "../context.ts";
import { handleInference, stampOverhead, stampRequest } from "../metering/inference.ts";
import { servedModels } from "../routing/select.ts";
import { missingKey, unknownKey } from "../shared/errors.ts";
import { bearerToken } from "../auth/keys.ts";

export function openaiRoutes(ctx: Ctx) {
  return async (app: FastifyInstance) => {
    const stamped = {
      onRequest: async (req: FastifyRequest, reply: FastifyReply) => void stampRequest(req, reply),
      onSend: async (req: FastifyRequest, reply: FastifyReply) => stampOverhead(req, reply),
    };
    app.post("/v1/chat/completions", stamped, (req, reply) => handleInference(ctx, "chat", req, reply));
    app.post("/v1/completions", stamped, (req, reply) => handleInference(ctx, "completion", req, reply));
    app.get("/v1/models", async (req, reply) => {
      const token = bearerToken(req.headers.authorization);
      const key = token ? await ctx.keys.authenticate(token) : null;
      if (!key) {
        const e = token ? unknownKey() : missingKey();
        return reply.code(e.status).send(e.body());
      }
      const models = servedModels(ctx.registry, ctx.reads);
      return {
        object: "list",
        data: [...models.entries()]
          .filter(([id]) => !key.models || key.models.includes(id))
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([id, m]) => ({
            id,
            object: "model",
            created: Math.floor(ctx.startedAt / 1000),
            owned_by: "tollgate",
            context_length: m.price.contextLength,
            pricing: { prompt: m.price.promptPrice.toString(), completion: m.price.completionPrice.toString(), unit: "USDC base units per million tokens" },
            providers: m.owners.size,
          })),
      };
    });
  };
}
