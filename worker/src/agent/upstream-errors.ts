/**
 * Error bodies of every runtime, reduced to a message. Shapes seen in the wild:
 *   OpenAI, Ollama, llama.cpp, recent vLLM: {"error": {"message", "type", "code"}}   (llama.cpp: numeric code)
 *   older vLLM:                             {"object": "error", "message", "type", "code"}
 *   TGI:                                    {"error": "text", "error_type": "validation" | "generation" | ...}
 *   FastAPI validation (vLLM 422):          {"detail": [...] | "text"}
 */
export type UpstreamErrorInfo = { message: string; type: string | null };

export function extractUpstreamError(obj: unknown): UpstreamErrorInfo | null {
  if (!obj || typeof obj !== "object") return null;
  const o = obj as Record<string, unknown>;
  if (o.error !== undefined && o.error !== null) {
    if (typeof o.error === "string") return { message: o.error, type: str(o.error_type) };
    if (typeof o.error === "object") {
      const e = o.error as Record<string, unknown>;
      return { message: str(e.message) ?? "upstream error", type: str(e.type) ?? str(o.error_type) };
    }
  }
  if (o.object === "error") return { message: str(o.message) ?? "upstream error", type: str(o.type) };
  if (o.detail !== undefined && !("choices" in o)) {
    return { message: typeof o.detail === "string" ? o.detail : "invalid request", type: "validation" };
  }
  return null;
}

function str(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

/** Upstream messages are forwarded only for the caller's own mistakes, trimmed and single-line. */
export function safeMessage(message: string, max = 500): string {
  const oneLine = message.replace(/\s+/g, " ").trim();
  return oneLine.length > max ? oneLine.slice(0, max) + "…" : oneLine;
}
