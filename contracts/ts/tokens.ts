/**
 * Token counting both sides agree on (gpt-tokenizer, o200k_base): the worker reports these counts
 * when a runtime sends no usage (labelled "estimated"), the simulator generates exactly them, and
 * the gateway reserves and cross-checks with them. For non-OpenAI models it is an estimate of what
 * the model's own tokenizer would say. Import as `@tollgate/protocol/tokens` (not from the index,
 * so the dApp never bundles the tokenizer).
 */
import { encode } from "gpt-tokenizer";

// Special-token strings inside user text are counted as plain text instead of throwing.
const ENCODE_OPTIONS = { disallowedSpecial: new Set<string>() };

export function encodeText(text: string): number[] {
  return encode(text, ENCODE_OPTIONS);
}

export function countTextTokens(text: string): number {
  return text.length === 0 ? 0 : encodeText(text).length;
}

export type ChatMessageLike = {
  role: string;
  content?: unknown;
  name?: string | null | undefined;
  tool_calls?: unknown;
};

/** Text of a message content: a string, or an array of parts of which text parts are counted. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let out = "";
  for (const part of content) {
    if (part && typeof part === "object" && typeof (part as { text?: unknown }).text === "string") {
      out += (part as { text: string }).text;
    }
  }
  return out;
}

/**
 * Prompt tokens of a chat: OpenAI's published formula for gpt-4o-class chat templates — 3 tokens
 * per message, plus role, content and name tokens, plus 3 priming the assistant reply.
 */
export function countChatPromptTokens(messages: readonly ChatMessageLike[]): number {
  let total = 3;
  for (const m of messages) {
    total += 3 + countTextTokens(m.role) + countTextTokens(contentText(m.content));
    if (m.name) total += 1 + countTextTokens(m.name);
    if (m.tool_calls !== undefined && m.tool_calls !== null) {
      total += countTextTokens(JSON.stringify(m.tool_calls));
    }
  }
  return total;
}

/** The parts of a chat request, besides its messages, that a runtime renders into the prompt. */
export type ChatPromptExtras = { readonly [field: string]: unknown; tools?: unknown; functions?: unknown; response_format?: unknown };

/**
 * Prompt tokens of tool and function definitions and a response schema, counted as their JSON text.
 * Chat templates render them into the prompt, so a request with large tool schemas is reserved,
 * capped and billed for them like for its messages.
 */
export function countChatExtrasTokens(body: ChatPromptExtras): number {
  let total = 0;
  for (const v of [body.tools, body.functions, body.response_format]) if (v !== undefined && v !== null) total += countTextTokens(JSON.stringify(v));
  return total;
}

/** Prompt tokens of a legacy completion: a string, strings, or pre-tokenized arrays. */
export function countCompletionPromptTokens(prompt: unknown): number {
  if (typeof prompt === "string") return countTextTokens(prompt);
  if (!Array.isArray(prompt)) return 0;
  let total = 0;
  for (const p of prompt) {
    if (typeof p === "string") total += countTextTokens(p);
    else if (typeof p === "number") total += 1;
    else if (Array.isArray(p)) total += p.length;
  }
  return total;
}
