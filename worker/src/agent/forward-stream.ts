/**
 * Streams one request from the runtime to the gateway as clean OpenAI SSE.
 *
 * Nothing is sent to the gateway until the first generated token: until then any failure is still
 * a plain HTTP error the gateway can fail over on. After it, a failure becomes a usage chunk (what
 * was generated so far) and an `error` event, and the stream ends without `[DONE]`. A good stream
 * always ends with a usage chunk (empty choices) and `data: [DONE]`.
 */
import type { ServerResponse } from "node:http";
import type { Dispatcher } from "undici";
import { SseParser, SseTooLargeError, type SseEvent } from "./sse-parser.ts";
import { StreamNormalizer } from "./normalize.ts";
import { chatChunkSchema, completionChunkSchema } from "./upstream-schemas.ts";
import { extractUpstreamError } from "./upstream-errors.ts";
import { ForwardError, fromNetworkError, fromStreamError, fromUpstreamStatus } from "./forward-errors.ts";
import { postJson, readCapped } from "./upstream.ts";
import type { UsageMeter, Usage, UsageSource } from "./usage-meter.ts";
import type { Endpoint } from "./runtimes.ts";

export const USAGE_SOURCE_HEADER = "x-tollgate-usage-source";

export type Timeouts = { firstTokenMs: number; idleMs: number; requestMs: number };

export type ForwardContext = {
  res: ServerResponse;
  endpoint: Endpoint;
  url: string;
  upstreamBody: Record<string, unknown>;
  dispatcher: Dispatcher;
  publicModel: string;
  meter: UsageMeter;
  timeouts: Timeouts;
  fallbackId: string;
};

export type ForwardOutcome = {
  kind: "ok" | "failed" | "cancelled";
  error?: ForwardError;
  usage?: Usage;
  source?: UsageSource;
  ttftMs?: number;
};

export async function forwardStream(ctx: ForwardContext): Promise<ForwardOutcome> {
  const { res, meter } = ctx;
  const started = performance.now();
  const ac = new AbortController();
  const normalizer = new StreamNormalizer(meter);
  const object = ctx.endpoint === "chat" ? "chat.completion.chunk" : "text_completion";
  let id = "";
  let created = 0;
  let committed = false;
  let pending = "";
  let ttftMs: number | undefined;
  let sawDone = false;
  let timedOut = false;
  let cancelled = false;

  let watchdog = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, ctx.timeouts.firstTokenMs);
  const onClose = () => {
    if (!res.writableFinished) {
      cancelled = true;
      ac.abort();
    }
  };
  res.on("close", onClose);

  // The chunk prefix changes only when the runtime's first chunk sets id/created: built then, not per token.
  let envelopeFor: { id: string; created: number } | null = null;
  let envelopeText = "";
  const envelope = () => {
    if (envelopeFor === null || envelopeFor.id !== id || envelopeFor.created !== created) {
      envelopeFor = { id, created };
      envelopeText = `{"id":${JSON.stringify(id || ctx.fallbackId)},"object":"${object}","created":${created || Math.floor(Date.now() / 1000)},"model":${JSON.stringify(ctx.publicModel)},"choices":`;
    }
    return envelopeText;
  };

  const commit = () => {
    committed = true;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
      trailer: USAGE_SOURCE_HEADER,
    });
    if (pending) res.write(pending);
    pending = "";
  };

  const onEvent = (ev: SseEvent): void => {
    if (sawDone) return;
    if (ev.event === "error") {
      // llama.cpp's `error:` field carries the error object itself, not wrapped in {"error": …}.
      const payload = parseOr(ev.data, ev.data);
      throw fromStreamError(extractUpstreamError(payload) ? payload : { error: payload });
    }
    const data = ev.data.trim();
    if (data === "[DONE]") {
      sawDone = true;
      return;
    }
    if (data === "") return;
    let obj: unknown;
    try {
      obj = JSON.parse(data);
    } catch {
      throw new ForwardError("upstream_malformed", 502, "the runtime sent a malformed chunk");
    }
    if (extractUpstreamError(obj)) throw fromStreamError(obj);
    const { chunk, choices, hasToken } = normalizeChunk(ctx.endpoint, obj, normalizer);
    meter.observe(chunk.usage);
    if (!id && chunk.id) id = chunk.id;
    if (!created && chunk.created) created = Math.floor(chunk.created);
    if (choices.length > 0) {
      const line = `data: ${envelope()}${JSON.stringify(choices)}}\n\n`;
      if (committed) res.write(line);
      else pending += line;
    }
    if (hasToken && ttftMs === undefined) {
      ttftMs = performance.now() - started;
      commit();
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        timedOut = true;
        ac.abort();
      }, ctx.timeouts.idleMs);
    }
  };

  const finish = (source: UsageSource, usage: Usage, ok: boolean, error?: ForwardError) => {
    if (!committed) commit();
    let tail = `data: ${envelope()}[],"usage":${JSON.stringify(usage)},"tollgate_usage_source":"${source}"}\n\n`;
    if (ok) tail += "data: [DONE]\n\n";
    else tail += `data: ${JSON.stringify({ error: { message: error?.message ?? "stream failed", type: "server_error", param: null, code: error?.code ?? "upstream_error" } })}\n\n`;
    res.addTrailers({ [USAGE_SOURCE_HEADER]: source });
    res.end(tail);
  };

  let gotResponse = false;
  try {
    const up = await postJson(ctx.dispatcher, ctx.url, ctx.upstreamBody, ac.signal, "text/event-stream");
    gotResponse = true;
    if (up.statusCode !== 200) {
      const { text } = await readCapped(up.body, 64 * 1024);
      throw fromUpstreamStatus(up.statusCode, text);
    }
    const contentType = String(up.headers["content-type"] ?? "");
    if (!contentType.includes("text/event-stream")) {
      const { text } = await readCapped(up.body, 64 * 1024);
      const err = extractUpstreamError(parseOr(text, null));
      throw err ? fromStreamError(parseOr(text, null)) : new ForwardError("upstream_malformed", 502, "the runtime did not answer with a stream");
    }
    const parser = new SseParser();
    for await (const buf of up.body as AsyncIterable<Uint8Array>) {
      if (committed) watchdog.refresh();
      for (const ev of parser.push(buf)) onEvent(ev);
      if (sawDone) break; // [DONE] is final even if the runtime keeps the connection open
    }
    if (!sawDone) for (const ev of parser.end()) onEvent(ev);
    if (!sawDone && !normalizer.complete) {
      throw new ForwardError("upstream_truncated", 502, "the runtime ended the stream before the reply was complete");
    }
    const { usage, source } = meter.result();
    finish(source, usage, true);
    return { kind: "ok", usage, source, ttftMs };
  } catch (err) {
    if (cancelled) return { kind: "cancelled", ttftMs, ...meter.result() };
    const error =
      err instanceof ForwardError
        ? err
        : err instanceof SseTooLargeError
          ? new ForwardError("upstream_malformed", 502, "the runtime sent an oversized event")
          : timedOut
          ? new ForwardError("upstream_timeout", 504, committed ? "the runtime stopped sending tokens" : "the runtime did not produce a first token in time")
          : fromNetworkError(err, gotResponse);
    if (!committed) {
      const headers: Record<string, string> = error.status === 503 ? { "retry-after": "1" } : {};
      const body = JSON.stringify({ error: { message: error.message, type: error.type, param: null, code: error.code } });
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(error.status, { "content-type": "application/json", "content-length": Buffer.byteLength(body).toString(), ...headers });
        res.end(body);
      }
      return { kind: "failed", error, ttftMs };
    }
    const { usage, source } = meter.result();
    if (!res.destroyed) finish(source, usage, false, error);
    return { kind: "failed", error, usage, source, ttftMs };
  } finally {
    clearTimeout(watchdog);
    res.off("close", onClose);
    if (!ac.signal.aborted) ac.abort(); // releases the upstream connection on every early exit
  }
}

/** Validates one upstream chunk for its endpoint and normalizes its choices. */
function normalizeChunk(endpoint: Endpoint, obj: unknown, normalizer: StreamNormalizer) {
  if (endpoint === "chat") {
    const parsed = chatChunkSchema.safeParse(obj);
    if (!parsed.success) throw new ForwardError("upstream_malformed", 502, "the runtime sent a malformed chunk");
    return { chunk: parsed.data, ...normalizer.chat(parsed.data.choices ?? []) };
  }
  const parsed = completionChunkSchema.safeParse(obj);
  if (!parsed.success) throw new ForwardError("upstream_malformed", 502, "the runtime sent a malformed chunk");
  return { chunk: parsed.data, ...normalizer.completion(parsed.data.choices ?? []) };
}

function parseOr(text: string, fallback: unknown): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
}
