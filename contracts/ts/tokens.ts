/**
 * Token counting both sides agree on (gpt-tokenizer, o200k_base): the worker reports these counts
 * when a runtime sends no usage (labelled "estimated"), the simulator generates exactly them, and
 * the gateway reserves and cross-checks with them. For non-OpenAI models it is an estimate of what
 * the model's own tokenizer would say. Import as `@tollgate/protocol/tokens` (not from the index,
 * so the dApp never bundles the tokenizer).
 */
import { countTokens, encode, isWithinTokenLimit } from "gpt-tokenizer";

// Special-token strings inside user text are counted as plain text instead of throwing.
const ENCODE_OPTIONS = { disallowedSpecial: new Set<string>() };

export function encodeText(text: string): number[] {
  return encode(text, ENCODE_OPTIONS);
}

/**
 * A run of letters, of punctuation or of whitespace is one pre-tokenizer piece, and byte-pair merging
 * is quadratic in a piece's length: 100k CJK characters without punctuation took 24 s of one core.
 * Such runs are counted in slices of 128 characters (code points), which bounds the work per
 * character; text without such a run (all natural text) is counted exactly as one piece of text.
 */
const RUN_SLICE = /[\p{L}\p{M}]{128}|[^\s\p{L}\p{N}]{128}|\s{128}/gu;

/** Tokens of text without long runs; above `limit`, Infinity as soon as the count passes it. */
function countPlain(text: string, limit: number): number {
  // countTokens counts as encode does without building the array of token ids.
  if (limit === Infinity) return countTokens(text, ENCODE_OPTIONS);
  const cap = Math.max(0, limit);
  // A token spans at least one character, so on text of at most 4 × cap characters a plain count
  // does at most four times the work of the bounded count, and runs about twice as fast per
  // character (no generator step per token): the common case, a response within its budget.
  if (text.length <= 4 * cap) {
    const n = countTokens(text, ENCODE_OPTIONS);
    return n > cap ? Infinity : n;
  }
  const n = isWithinTokenLimit(text, cap, ENCODE_OPTIONS);
  return n === false ? Infinity : n;
}

/**
 * Tokens of `text`. With a `limit`, counting stops once the count passes it and returns Infinity,
 * so a caller enforcing a cap does not pay for counting a prompt far above it.
 */
export function countTextTokens(text: string, limit = Infinity): number {
  if (text.length === 0) return 0;
  let total = 0;
  let from = 0;
  for (const slice of text.matchAll(RUN_SLICE)) {
    if (slice.index > from) total += countPlain(text.slice(from, slice.index), limit - total);
    total += countPlain(slice[0], limit - total);
    if (total > limit) return Infinity;
    from = slice.index + slice[0].length;
  }
  if (from < text.length) total += countPlain(from === 0 ? text : text.slice(from), limit - total);
  return total > limit ? Infinity : total;
}

export type ChatMessageLike = {
  role: string;
  content?: unknown;
  name?: string | null | undefined;
  tool_calls?: unknown;
};

/**
 * Text of a message content: a string, or an array of parts whose text parts are joined with "\n",
 * as vLLM renders them. Joined without a separator, 20,000 parts of "a" counted as one run of 2,500
 * tokens where the runtime sees 20,000 lines: a way past the prompt cap at a fraction of the price.
 */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  const texts: string[] = [];
  for (const part of content) {
    if (part && typeof part === "object" && typeof (part as { text?: unknown }).text === "string") {
      texts.push((part as { text: string }).text);
    }
  }
  return texts.join("\n");
}

/**
 * Prompt tokens of a chat: OpenAI's published formula for gpt-4o-class chat templates — 3 tokens
 * per message, plus role, content and name tokens, plus 3 priming the assistant reply. With a
 * `limit` (as in every count below), Infinity once the count passes it.
 */
export function countChatPromptTokens(messages: readonly ChatMessageLike[], limit = Infinity): number {
  let total = 3;
  for (const m of messages) {
    total += 3 + countTextTokens(m.role, limit - total);
    total += countTextTokens(contentText(m.content), limit - total);
    if (m.name) total += 1 + countTextTokens(m.name, limit - total);
    if (m.tool_calls !== undefined && m.tool_calls !== null) {
      total += countTextTokens(JSON.stringify(m.tool_calls), limit - total);
    }
    if (total > limit) return Infinity;
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
export function countChatExtrasTokens(body: ChatPromptExtras, limit = Infinity): number {
  let total = 0;
  for (const v of [body.tools, body.functions, body.response_format]) if (v !== undefined && v !== null) total += countTextTokens(JSON.stringify(v), limit - total);
  return total > limit ? Infinity : total;
}

/** Prompt tokens of a legacy completion: a string, strings, or pre-tokenized arrays. */
export function countCompletionPromptTokens(prompt: unknown, limit = Infinity): number {
  if (typeof prompt === "string") return countTextTokens(prompt, limit);
  if (!Array.isArray(prompt)) return 0;
  let total = 0;
  for (const p of prompt) {
    if (typeof p === "string") total += countTextTokens(p, limit - total);
    else if (typeof p === "number") total += 1;
    else if (Array.isArray(p)) total += p.length;
  }
  return total;
}

/**
 * Prompt tokens of a legacy completion's `suffix`: the text after the insertion point, which runtimes
 * that fill in the middle (Ollama) render into the prompt and count as prompt tokens.
 */
export function countCompletionExtrasTokens(body: { readonly [field: string]: unknown; suffix?: unknown }, limit = Infinity): number {
  return typeof body.suffix === "string" ? countTextTokens(body.suffix, limit) : 0;
}
