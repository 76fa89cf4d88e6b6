/**
 * Usage of one request. The runtime's own numbers win when it sends them (they come from the
 * model's real tokenizer); otherwise the worker counts with gpt-tokenizer and labels the result
 * "estimated", so the gateway knows which figures to trust and to cross-check harder.
 */
import { countTextTokens } from "@tollgate/protocol/tokens";
import { usageSchema, type UpstreamUsage } from "./upstream-schemas.ts";

export type UsageSource = "runtime" | "estimated";

export type Usage = {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
  completion_tokens_details?: { reasoning_tokens: number };
};

export class UsageMeter {
  private runtime: UpstreamUsage | null = null;
  // Generated text per choice index, kept only in memory to count tokens when the runtime does not.
  private readonly texts = new Map<number, string>();
  private readonly promptTokens: () => number;

  constructor(promptTokens: () => number) {
    this.promptTokens = promptTokens;
  }

  /** Records usage reported by the runtime, ignoring null and malformed values. The last one wins. */
  observe(raw: unknown): void {
    if (raw === undefined || raw === null) return;
    const parsed = usageSchema.safeParse(raw);
    if (parsed.success) this.runtime = parsed.data;
  }

  addText(index: number, text: string | null | undefined): void {
    if (!text) return;
    this.texts.set(index, (this.texts.get(index) ?? "") + text);
  }

  get hasRuntimeUsage(): boolean {
    return this.runtime !== null;
  }

  result(): { usage: Usage; source: UsageSource } {
    if (this.runtime) {
      const r = this.runtime;
      const usage: Usage = {
        prompt_tokens: r.prompt_tokens,
        completion_tokens: r.completion_tokens,
        total_tokens: r.prompt_tokens + r.completion_tokens,
      };
      const cached = r.prompt_tokens_details?.cached_tokens;
      if (typeof cached === "number") usage.prompt_tokens_details = { cached_tokens: cached };
      const reasoning = r.completion_tokens_details?.reasoning_tokens;
      if (typeof reasoning === "number") usage.completion_tokens_details = { reasoning_tokens: reasoning };
      return { usage, source: "runtime" };
    }
    const prompt = this.promptTokens();
    let completion = 0;
    for (const text of this.texts.values()) completion += countTextTokens(text);
    return { usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }, source: "estimated" };
  }
}
