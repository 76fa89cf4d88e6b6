/**
 * What differs between the runtimes a worker can front, on the request side. The response side
 * (chunk and error shapes) is handled generically by the normalizer, which accepts every known
 * variant, so a runtime that changes its format between versions still works.
 */
export const RUNTIMES = ["vllm", "llamacpp", "ollama", "tgi", "openai"] as const;
export type RuntimeKind = (typeof RUNTIMES)[number];

export type Endpoint = "chat" | "completion";

export function upstreamPath(endpoint: Endpoint): string {
  return endpoint === "chat" ? "/chat/completions" : "/completions";
}

/**
 * The body sent upstream: the gateway's request with the runtime's own model name, usage always
 * requested on streams, and the completion budget in the field the runtime honours. A runtime that
 * silently ignores `max_completion_tokens` would generate past what the gateway reserved for.
 */
export function adaptRequest(
  runtime: RuntimeKind,
  body: Record<string, unknown>,
  upstreamModel: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body, model: upstreamModel };
  if (out.stream === true) {
    const prior = typeof out.stream_options === "object" && out.stream_options !== null ? out.stream_options : {};
    out.stream_options = { ...prior, include_usage: true };
  } else {
    delete out.stream_options; // some runtimes reject stream_options without stream
  }
  if (runtime === "llamacpp" || runtime === "ollama" || runtime === "tgi") {
    const limit = out.max_completion_tokens ?? out.max_tokens;
    delete out.max_completion_tokens;
    if (limit !== undefined && limit !== null) out.max_tokens = limit;
  }
  return out;
}

/**
 * OpenAI finish reasons from every runtime's spelling: TGI says "eos_token" / "stop_sequence",
 * TGI's completions stream says "" while still running, others may say "eos" or "max_tokens".
 */
export function normalizeFinishReason(raw: unknown): string | null {
  if (raw === null || raw === undefined || raw === "") return null;
  if (typeof raw !== "string") return "stop";
  switch (raw) {
    case "stop":
    case "eos_token":
    case "eos":
    case "stop_sequence":
    case "end_turn":
      return "stop";
    case "length":
    case "max_tokens":
    case "max_new_tokens":
      return "length";
    case "tool_calls":
    case "function_call":
    case "content_filter":
      return raw;
    default:
      return "stop";
  }
}
