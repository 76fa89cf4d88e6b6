/**
 * Loose zod schemas of what runtimes send back: only the fields the worker uses are typed, the rest
 * is tolerated (and then dropped by the normalizer). Anything that fails here is "malformed".
 */
import { z } from "zod";

const int = z.number().int().min(0);

export const usageSchema = z.looseObject({
  prompt_tokens: int,
  completion_tokens: int,
  total_tokens: int.nullish(),
  prompt_tokens_details: z.looseObject({ cached_tokens: int.nullish() }).nullish(),
  completion_tokens_details: z.looseObject({ reasoning_tokens: int.nullish() }).nullish(),
});
export type UpstreamUsage = z.infer<typeof usageSchema>;

const toolCallDelta = z.looseObject({
  index: int.optional(),
  id: z.string().nullish(),
  type: z.string().nullish(),
  function: z.looseObject({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
});

const messageFields = {
  role: z.string().nullish(),
  content: z.string().nullish(),
  reasoning_content: z.string().nullish(),
  reasoning: z.string().nullish(), // Ollama's name for reasoning_content
  refusal: z.string().nullish(),
  tool_calls: z.array(toolCallDelta).nullish(),
};

const choiceCommon = {
  index: int.default(0),
  logprobs: z.unknown().optional(),
  finish_reason: z.string().nullish(),
};

export const chatChunkChoiceSchema = z.looseObject({ ...choiceCommon, delta: z.looseObject(messageFields).nullish() });
export const completionChoiceSchema = z.looseObject({ ...choiceCommon, text: z.string().nullish() });
export const chatChoiceSchema = z.looseObject({ ...choiceCommon, message: z.looseObject(messageFields).nullish() });

const envelope = {
  id: z.string().nullish(),
  created: z.number().nullish(),
  usage: z.unknown().optional(),
};

export const chatChunkSchema = z.looseObject({ ...envelope, choices: z.array(chatChunkChoiceSchema).nullish() });
export const completionChunkSchema = z.looseObject({ ...envelope, choices: z.array(completionChoiceSchema).nullish() });
export const chatResponseSchema = z.looseObject({ ...envelope, choices: z.array(chatChoiceSchema) });
export const completionResponseSchema = z.looseObject({ ...envelope, choices: z.array(completionChoiceSchema) });

export type ChatChunkChoice = z.infer<typeof chatChunkChoiceSchema>;
export type CompletionChoice = z.infer<typeof completionChoiceSchema>;
export type ChatChoice = z.infer<typeof chatChoiceSchema>;
export type ToolCallDelta = z.infer<typeof toolCallDelta>;
