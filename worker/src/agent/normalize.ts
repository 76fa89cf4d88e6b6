/**
 * Turns any runtime's choices into clean OpenAI choices: role only on a choice's first chunk,
 * finish reasons in OpenAI spelling, no runtime extras (llama.cpp `timings`, vLLM `stop_reason`,
 * Ollama's repeated role and `reasoning`). Feeds generated text to the usage meter on the way.
 */
import { normalizeFinishReason } from "./runtimes.ts";
import type { UsageMeter } from "./usage-meter.ts";
import type { ChatChoice, ChatChunkChoice, CompletionChoice, ToolCallDelta } from "./upstream-schemas.ts";

type Out = Record<string, unknown>;

function toolCallText(calls: readonly ToolCallDelta[] | null | undefined): string {
  if (!calls) return "";
  let s = "";
  for (const c of calls) s += (c.function?.name ?? "") + (c.function?.arguments ?? "");
  return s;
}

export class StreamNormalizer {
  private readonly roleSent = new Set<number>();
  private readonly seen = new Set<number>();
  private readonly finished = new Set<number>();
  private readonly meter: UsageMeter;

  constructor(meter: UsageMeter) {
    this.meter = meter;
  }

  /** True once every choice seen so far has a finish reason (the stream is complete even without [DONE]). */
  get complete(): boolean {
    return this.seen.size > 0 && this.finished.size === this.seen.size;
  }

  /** Clean chat choices, and whether any carries generated output (a "token"). */
  chat(choices: readonly ChatChunkChoice[]): { choices: Out[]; hasToken: boolean } {
    const out: Out[] = [];
    let hasToken = false;
    for (const c of choices) {
      const d = c.delta ?? {};
      const idx = c.index;
      this.seen.add(idx);
      const delta: Out = {};
      if (!this.roleSent.has(idx)) {
        delta.role = "assistant";
        this.roleSent.add(idx);
      }
      const reasoning = d.reasoning_content ?? d.reasoning;
      if (reasoning) delta.reasoning_content = reasoning;
      if (d.content) delta.content = d.content;
      else if (delta.role && !d.tool_calls?.length) delta.content = "";
      if (d.tool_calls?.length) delta.tool_calls = d.tool_calls;
      if (d.refusal) delta.refusal = d.refusal;
      const finish = normalizeFinishReason(c.finish_reason);
      if (finish) this.finished.add(idx);

      const generated = (d.content ?? "") + (reasoning ?? "") + toolCallText(d.tool_calls) + (d.refusal ?? "");
      this.meter.addText(idx, generated);
      if (generated.length > 0 || finish) hasToken = true;
      if (Object.keys(delta).length === 0 && !finish) continue; // keep-alive or Ollama's empty repeat
      out.push({ index: idx, delta, logprobs: c.logprobs ?? null, finish_reason: finish });
    }
    return { choices: out, hasToken };
  }

  completion(choices: readonly CompletionChoice[]): { choices: Out[]; hasToken: boolean } {
    const out: Out[] = [];
    let hasToken = false;
    for (const c of choices) {
      const idx = c.index;
      this.seen.add(idx);
      const text = c.text ?? "";
      const finish = normalizeFinishReason(c.finish_reason);
      if (finish) this.finished.add(idx);
      this.meter.addText(idx, text);
      if (text.length > 0 || finish) hasToken = true;
      if (text.length === 0 && !finish) continue;
      out.push({ index: idx, text, logprobs: c.logprobs ?? null, finish_reason: finish });
    }
    return { choices: out, hasToken };
  }
}

/** Clean choices of a non-streamed chat response. */
export function normalizeChatChoices(choices: readonly ChatChoice[], meter: UsageMeter): Out[] {
  return choices.map((c) => {
    const m = c.message ?? {};
    const reasoning = m.reasoning_content ?? m.reasoning;
    const message: Out = { role: "assistant", content: m.content ?? null };
    if (reasoning) message.reasoning_content = reasoning;
    if (m.tool_calls?.length) message.tool_calls = m.tool_calls;
    if (m.refusal) message.refusal = m.refusal;
    meter.addText(c.index, (m.content ?? "") + (reasoning ?? "") + toolCallText(m.tool_calls) + (m.refusal ?? ""));
    return { index: c.index, message, logprobs: c.logprobs ?? null, finish_reason: normalizeFinishReason(c.finish_reason) ?? "stop" };
  });
}

/** Clean choices of a non-streamed completion response. */
export function normalizeCompletionChoices(choices: readonly CompletionChoice[], meter: UsageMeter): Out[] {
  return choices.map((c) => {
    meter.addText(c.index, c.text ?? "");
    return { index: c.index, text: c.text ?? "", logprobs: c.logprobs ?? null, finish_reason: normalizeFinishReason(c.finish_reason) ?? "stop" };
  });
}
