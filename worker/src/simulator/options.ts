/** Options of the simulated runtime, validated with zod whether they come from flags or code. */
import { z } from "zod";

export const simulatedModelSchema = z.object({
  name: z.string().min(1).max(200),
  contextLength: z.number().int().min(16).max(10_000_000),
});
export type SimulatedModel = z.infer<typeof simulatedModelSchema>;

const probability = z.number().min(0).max(1);

export const simulatorOptionsSchema = z
  .object({
    host: z.string().default("127.0.0.1"),
    port: z.number().int().min(0).max(65535).default(8000),
    models: z.array(simulatedModelSchema).min(1).default([{ name: "sim-llama-3.1-8b-instruct", contextLength: 8192 }]),
    /** Median time to first token, ms. */
    ttftMs: z.number().min(0).max(600_000).default(150),
    /** Log-normal sigma of the time to first token (0 = always the median). */
    ttftSigma: z.number().min(0).max(5).default(0.3),
    /** Decode speed of one stream, tokens per second. */
    tokensPerSecond: z.number().positive().max(1_000_000).default(40),
    /** Length of a reply when max_tokens does not cut it, in tokens (uniform, from the seed). */
    minCompletionTokens: z.number().int().min(1).default(16),
    maxCompletionTokens: z.number().int().min(1).default(256),
    /** Probability that a request fails with 500/503 before its first token. */
    errorRate: probability.default(0),
    /** Probability that a request is accepted and then never answered. */
    hangRate: probability.default(0),
    /** Probability that a stream's socket is destroyed after K tokens (1 ≤ K < length). */
    crashRate: probability.default(0),
    /** Seed of fault sampling; omit for a different sequence of faults every run. */
    faultSeed: z.number().int().optional(),
    /** Period of the shared pacing tick, ms. */
    tickMs: z.number().int().min(1).max(1000).default(10),
    /** Largest accepted request body, bytes. */
    maxBodyBytes: z.number().int().positive().default(4 * 1024 * 1024),
  })
  .refine((o) => o.minCompletionTokens <= o.maxCompletionTokens, {
    message: "minCompletionTokens must not exceed maxCompletionTokens",
  });

export type SimulatorOptions = z.input<typeof simulatorOptionsSchema>;
export type ResolvedSimulatorOptions = z.output<typeof simulatorOptionsSchema>;

/** Parses "name:contextLength,name2:contextLength" (context length optional, default 8192). */
export function parseModelList(spec: string): SimulatedModel[] {
  return spec
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const i = s.lastIndexOf(":");
      const name = i > 0 && /^\d+$/.test(s.slice(i + 1)) ? s.slice(0, i) : s;
      const ctx = name === s ? 8192 : Number(s.slice(i + 1));
      return simulatedModelSchema.parse({ name, contextLength: ctx });
    });
}
