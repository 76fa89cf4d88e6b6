/** Forwards one non-streamed request and answers with a clean OpenAI body that always has `usage`. */
import { ForwardError, fromNetworkError, fromUpstreamStatus } from "./forward-errors.ts";
import { normalizeChatChoices, normalizeCompletionChoices } from "./normalize.ts";
import { chatResponseSchema, completionResponseSchema } from "./upstream-schemas.ts";
import { extractUpstreamError } from "./upstream-errors.ts";
import { postJson, readCapped } from "./upstream.ts";
import { USAGE_SOURCE_HEADER, type ForwardContext, type ForwardOutcome } from "./forward-stream.ts";
import { sendJson } from "../shared/http.ts";

const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

export async function forwardJson(ctx: ForwardContext): Promise<ForwardOutcome> {
  const { res, meter } = ctx;
  const started = performance.now();
  const ac = new AbortController();
  let timedOut = false;
  let cancelled = false;
  let gotResponse = false;
  const watchdog = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, ctx.timeouts.requestMs);
  const onClose = () => {
    if (!res.writableFinished) {
      cancelled = true;
      ac.abort();
    }
  };
  res.on("close", onClose);

  try {
    const up = await postJson(ctx.dispatcher, ctx.url, ctx.upstreamBody, ac.signal, "application/json");
    gotResponse = true;
    const { text, truncated } = await readCapped(up.body, MAX_RESPONSE_BYTES);
    if (up.statusCode !== 200) throw fromUpstreamStatus(up.statusCode, text);
    if (truncated) throw new ForwardError("upstream_malformed", 502, "the runtime's reply is too large");
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch {
      throw new ForwardError("upstream_malformed", 502, "the runtime sent malformed JSON");
    }
    if (extractUpstreamError(obj)) throw fromUpstreamStatus(500, text);
    const { reply, choices } = normalizeReply(ctx.endpoint, obj, meter);
    meter.observe(reply.usage);
    const { usage, source } = meter.result();
    sendJson(
      res,
      200,
      {
        id: reply.id || ctx.fallbackId,
        object: ctx.endpoint === "chat" ? "chat.completion" : "text_completion",
        created: reply.created ? Math.floor(reply.created) : Math.floor(Date.now() / 1000),
        model: ctx.publicModel,
        choices,
        usage,
      },
      { [USAGE_SOURCE_HEADER]: source },
    );
    return { kind: "ok", usage, source, ttftMs: performance.now() - started };
  } catch (err) {
    if (cancelled) return { kind: "cancelled" };
    const error =
      err instanceof ForwardError
        ? err
        : timedOut
          ? new ForwardError("upstream_timeout", 504, "the runtime did not answer in time")
          : fromNetworkError(err, gotResponse);
    sendJson(
      res,
      error.status,
      { error: { message: error.message, type: error.type, param: null, code: error.code } },
      error.status === 503 ? { "retry-after": "1" } : {},
    );
    return { kind: "failed", error };
  } finally {
    clearTimeout(watchdog);
    res.off("close", onClose);
    if (!ac.signal.aborted) ac.abort();
  }
}

/** Validates a non-streamed reply for its endpoint and normalizes its choices. */
function normalizeReply(endpoint: ForwardContext["endpoint"], obj: unknown, meter: ForwardContext["meter"]) {
  if (endpoint === "chat") {
    const parsed = chatResponseSchema.safeParse(obj);
    if (!parsed.success) throw new ForwardError("upstream_malformed", 502, "the runtime sent an unexpected reply");
    return { reply: parsed.data, choices: normalizeChatChoices(parsed.data.choices, meter) };
  }
  const parsed = completionResponseSchema.safeParse(obj);
  if (!parsed.success) throw new ForwardError("upstream_malformed", 502, "the runtime sent an unexpected reply");
  return { reply: parsed.data, choices: normalizeCompletionChoices(parsed.data.choices, meter) };
}
