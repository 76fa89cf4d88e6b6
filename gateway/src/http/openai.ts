/** The OpenAI-compatible surface: chat completions, legacy completions, models. */
import type { FastifyInstance } from "fastify";
import type { Ctx } from "../context.ts";
import { handleInference } from "../metering/inference.ts";
import { servedModels } from "../routing/select.ts";
import { unauthorized } from "../shared/errors.ts";

export function openaiRoutes(ctx: Ctx) {
  return async (app: FastifyInstance) => {
    app.post("/v1/chat/completions", (req, reply) => handleInference(ctx, "chat", req, reply));
    app.post("/v1/completions", (req, reply) => handleInference(ctx, "completion", req, reply));
    app.get("/v1/models", async (req, reply) => {
      const auth = req.headers.authorization;
      const key = auth?.startsWith("Bearer ") ? await ctx.keys.authenticate(auth.slice(7).trim()) : null;
      if (!key) {
        const e = unauthorized();
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
