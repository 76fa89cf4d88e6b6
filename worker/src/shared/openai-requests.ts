/**
 * zod schemas of the OpenAI request bodies the simulator and the agent accept. Unknown fields are
 * kept (z.looseObject) because runtimes accept many sampling extensions we do not need to know.
 */
import { z } from "zod";

const contentPart = z.looseObject({ type: z.string() });

export const chatMessageSchema = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
  content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
  name: z.string().max(256).nullish(),
  tool_calls: z.array(z.unknown()).nullish(),
});

const streamOptions = z.looseObject({ include_usage: z.boolean().nullish() }).nullish();
const tokenLimit = z.number().int().min(1).nullish();

const common = {
  model: z.string().min(1).max(256),
  stream: z.boolean().nullish(),
  stream_options: streamOptions,
  max_tokens: tokenLimit,
  n: z.number().int().min(1).max(128).nullish(),
  seed: z.number().int().nullish(),
};

export const chatRequestSchema = z.looseObject({
  ...common,
  messages: z.array(chatMessageSchema).min(1),
  max_completion_tokens: tokenLimit,
});
export type ChatRequest = z.infer<typeof chatRequestSchema>;

export const completionRequestSchema = z.looseObject({
  ...common,
  prompt: z.union([
    z.string(),
    z.array(z.string()).min(1),
    z.array(z.number().int().min(0)).min(1),
    z.array(z.array(z.number().int().min(0)).min(1)).min(1),
  ]),
  echo: z.boolean().nullish(),
});
export type CompletionRequest = z.infer<typeof completionRequestSchema>;

/** The completion budget a request asks for, whichever field carries it. */
export function requestedMaxTokens(body: { max_tokens?: number | null | undefined; max_completion_tokens?: number | null | undefined }): number | undefined {
  return body.max_completion_tokens ?? body.max_tokens ?? undefined;
}
