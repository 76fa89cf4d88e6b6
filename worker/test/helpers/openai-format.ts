/**
 * What "clean OpenAI format" means for the worker's output, as strict zod schemas: no runtime
 * extras (timings, stop_reason, system_fingerprint of the runtime), OpenAI finish reasons only, a
 * usage chunk with empty choices right before [DONE].
 */
import assert from "node:assert/strict";
import { z } from "zod";

const finish = z.enum(["stop", "length", "tool_calls", "content_filter", "function_call"]).nullable();
const usage = z.strictObject({
  prompt_tokens: z.number().int().min(0),
  completion_tokens: z.number().int().min(0),
  total_tokens: z.number().int().min(0),
  prompt_tokens_details: z.strictObject({ cached_tokens: z.number().int() }).optional(),
  completion_tokens_details: z.strictObject({ reasoning_tokens: z.number().int() }).optional(),
});
const chatChoice = z.strictObject({
  index: z.number().int(),
  delta: z.strictObject({
    role: z.literal("assistant").optional(),
    content: z.string().optional(),
    reasoning_content: z.string().optional(),
    tool_calls: z.array(z.unknown()).optional(),
    refusal: z.string().optional(),
  }),
  logprobs: z.unknown(),
  finish_reason: finish,
});
const completionChoice = z.strictObject({ index: z.number().int(), text: z.string(), logprobs: z.unknown(), finish_reason: finish });
const envelope = { id: z.string().min(1), created: z.number().int().positive(), model: z.string() };

export type StreamSummary = { text: string; usage: z.infer<typeof usage>; source: "runtime" | "estimated"; finishReason: string; chunks: number };

/** Asserts a complete, clean stream and returns what a client would take from it. */
export function checkStream(events: string[], kind: "chat" | "completion", model: string): StreamSummary {
  assert.equal(events.at(-1), "[DONE]", "stream must end with [DONE]");
  const objects = events.slice(0, -1).map((e) => JSON.parse(e));
  const last = objects.at(-1);
  const object = kind === "chat" ? "chat.completion.chunk" : "text_completion";
  const usageChunk = z
    .strictObject({ ...envelope, object: z.literal(object), choices: z.array(z.never()).length(0), usage, tollgate_usage_source: z.enum(["runtime", "estimated"]) })
    .parse(last);
  const chunkSchema = z.strictObject({ ...envelope, object: z.literal(object), choices: z.array(kind === "chat" ? chatChoice : completionChoice).min(1) });
  let text = "";
  let finishReason = "";
  let roles = 0;
  const ids = new Set<string>();
  for (const obj of objects.slice(0, -1)) {
    const chunk = chunkSchema.parse(obj);
    assert.equal(chunk.model, model, "chunks carry the public model name");
    ids.add(chunk.id);
    for (const c of chunk.choices as any[]) {
      text += kind === "chat" ? (c.delta.content ?? "") : c.text;
      if (kind === "chat" && c.delta.role) roles++;
      if (c.finish_reason) {
        assert.equal(finishReason, "", "one finish_reason per choice");
        finishReason = c.finish_reason;
      }
    }
  }
  ids.add(usageChunk.id);
  assert.equal(ids.size, 1, "one id for the whole stream");
  assert.equal(usageChunk.model, model);
  if (kind === "chat") assert.equal(roles, 1, "role appears once, in the first chunk");
  assert.notEqual(finishReason, "", "a finish_reason was sent");
  return { text, usage: usageChunk.usage, source: usageChunk.tollgate_usage_source, finishReason, chunks: objects.length - 1 };
}

/** Asserts a clean non-streamed body and returns its text and usage. */
export function checkJson(body: unknown, kind: "chat" | "completion", model: string): { text: string; usage: z.infer<typeof usage>; finishReason: string } {
  const choice =
    kind === "chat"
      ? z.strictObject({
          index: z.number().int(),
          message: z.strictObject({ role: z.literal("assistant"), content: z.string().nullable(), reasoning_content: z.string().optional(), tool_calls: z.array(z.unknown()).optional() }),
          logprobs: z.unknown(),
          finish_reason: finish,
        })
      : completionChoice;
  const parsed = z
    .strictObject({ ...envelope, object: z.literal(kind === "chat" ? "chat.completion" : "text_completion"), choices: z.array(choice).length(1), usage })
    .parse(body);
  assert.equal(parsed.model, model);
  const c = parsed.choices[0] as any;
  return { text: kind === "chat" ? c.message.content : c.text, usage: parsed.usage, finishReason: c.finish_reason };
}

/** Parses the error event ending a failed stream. */
export function streamError(events: string[]): { message: string; type: string; code: string } | null {
  const last = events.at(-1);
  if (!last || last === "[DONE]") return null;
  const parsed = JSON.parse(last);
  return parsed.error ?? null;
}
