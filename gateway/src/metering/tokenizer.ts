/**
 * The gateway's own token counts (gpt-tokenizer o200k_base), by the same method the worker uses for
 * estimated usage (docs/worker-protocol.md): OpenAI's chat formula for prompts, plain text tokens for
 * completions. Candidate for @tollgate/protocol so both sides share one implementation.
 */
import { encode } from "gpt-tokenizer";

const OPTIONS = { disallowedSpecial: new Set<string>() };

export function countText(text: string): number {
  return text.length === 0 ? 0 : encode(text, OPTIONS).length;
}

function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let out = "";
  for (const part of content) if (part && typeof part === "object" && typeof (part as { text?: unknown }).text === "string") out += (part as { text: string }).text;
  return out;
}

export function countChatPrompt(messages: readonly { role: string; content?: unknown; name?: string | null; tool_calls?: unknown }[]): number {
  let total = 3;
  for (const m of messages) {
    total += 3 + countText(m.role) + countText(contentText(m.content));
    if (m.name) total += 1 + countText(m.name);
    if (m.tool_calls !== undefined && m.tool_calls !== null) total += countText(JSON.stringify(m.tool_calls));
  }
  return total;
}

/**
 * Tool and function definitions and a response schema, counted as their JSON text (the worker's
 * method): chat templates render them into the prompt, so they are reserved, capped and billed.
 */
export function countChatExtras(body: { readonly [field: string]: unknown; tools?: unknown; functions?: unknown; response_format?: unknown }): number {
  let total = 0;
  for (const v of [body.tools, body.functions, body.response_format]) if (v !== undefined && v !== null) total += countText(JSON.stringify(v));
  return total;
}

/**
 * Whether a chat carries content the gateway cannot count: images, audio, files. Their tokens depend
 * on the model's own encoder (a picture is 85 tokens to one model and thousands to another).
 */
export function hasOpaqueParts(messages: readonly { readonly [field: string]: unknown; content?: unknown }[]): boolean {
  for (const m of messages) {
    if (!Array.isArray(m.content)) continue;
    for (const part of m.content) if (!part || typeof part !== "object" || (part as { type?: unknown }).type !== "text") return true;
  }
  return false;
}

/**
 * Prompt tokens reserved (and the most that will be billed) for a request: the gateway's own count
 * with 5 % + 8 tokens of headroom for template differences, or, when the prompt holds content it
 * cannot count, the tier's whole prompt allowance.
 */
export function promptReserveFor(ownPrompt: number, opaque: boolean, tierMaxPrompt: number): number {
  const counted = Math.ceil(ownPrompt * 1.05) + 8;
  return opaque ? Math.max(counted, tierMaxPrompt) : counted;
}

export function countCompletionPrompt(prompt: unknown): number {
  if (typeof prompt === "string") return countText(prompt);
  if (!Array.isArray(prompt)) return 0;
  let total = 0;
  for (const p of prompt) {
    if (typeof p === "string") total += countText(p);
    else if (typeof p === "number") total += 1;
    else if (Array.isArray(p)) total += p.length;
  }
  return total;
}

/** Relative difference of two counts (0 when equal; 1 when one is zero and the other not). */
export function drift(reported: number, own: number): number {
  if (reported === own) return 0;
  return Math.abs(reported - own) / Math.max(reported, own, 1);
}
