/**
 * One inference request, end to end: authenticate, validate, admit (tier caps, rate limits,
 * reservation of the maximum cost), route with failover before the first token, stream through,
 * meter, write the receipt durably, commit the actual cost and release the rest.
 */
import { randomBytes } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { exactCost, modelId, receiptId, RECEIPT_STATUS } from "@tollgate/protocol";
import type { Ctx } from "../context.ts";
import { ApiError, badRequest, forbidden, missingKey, notFound, paymentRequired, rateLimited, tooLarge, unavailable, unknownKey } from "../shared/errors.ts";
import { eligible, modelKnown, pick, warmMissingReads, type Candidate, type PriceCap } from "../routing/select.ts";
import { drift, hasOpaqueParts, promptReserveFor } from "./tokenizer.ts";
import { chargeUnits, type StoredReceipt } from "./receipts.ts";
import { chunkText, readUsage, SseRelay, type Usage } from "./sse-relay.ts";
import { bearerToken, type ApiKey } from "../auth/keys.ts";
import { postUpstream, type UpstreamResponse } from "../routing/upstream.ts";
import { writeChunk } from "../http/chunked-write.ts";

const tokenLimit = z.number().int().min(1).nullish();
const common = {
  model: z.string().min(1).max(256),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: tokenLimit,
  // One completion per request: the reservation and the billing cap cover one choice of max_tokens.
  n: z.number().int().min(1).max(1, "only n = 1 is supported").nullish(),
  best_of: z.number().int().min(1).max(1, "only best_of = 1 is supported").nullish(),
  // llama.cpp's own name for n, read before n.
  n_cmpl: z.number().int().min(1).max(1, "only n = 1 is supported").nullish(),
  // Runtimes' own budget fields, which they read before max_tokens (llama.cpp: n_predict, where -1
  // means no limit; TGI: max_new_tokens): limits like the OpenAI ones, forwarded capped.
  n_predict: tokenLimit,
  max_new_tokens: tokenLimit,
};
const RUNTIME_LIMIT_FIELDS = ["n_predict", "max_new_tokens"] as const;
/**
 * Runtime extensions that rewrite the prompt after the gateway counted it (vLLM's per-request chat
 * template and its arguments, RAG documents): neither the tier's cap nor the reservation would
 * cover what the model then reads, and the provider would serve tokens nobody pays for.
 */
const PROMPT_SHAPING_FIELDS = ["chat_template", "chat_template_kwargs", "documents"] as const;
/**
 * A worker may not send more than this many bytes per token of budget (a token's SSE event is a
 * few hundred bytes), streamed or not: the gateway keeps what it forwards until the cross-check, so
 * a worker sending without end would otherwise grow the gateway's memory and the count at the end.
 */
const STREAM_BYTES_PER_TOKEN = 1024;
const STREAM_BYTES_BASE = 64 * 1024;
const chatSchema = z.looseObject({
  ...common,
  messages: z
    .array(
      z.looseObject({
        role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
        content: z.union([z.string(), z.array(z.looseObject({ type: z.string() })), z.null()]).optional(),
        name: z.string().max(256).nullish(),
        tool_calls: z.array(z.unknown()).nullish(),
      }),
    )
    .min(1),
  max_completion_tokens: tokenLimit,
});
const completionSchema = z.looseObject({
  ...common,
  prompt: z.union([z.string(), z.array(z.string()).min(1), z.array(z.number().int().min(0)).min(1), z.array(z.array(z.number().int().min(0)).min(1)).min(1)]),
  // Not an OpenAI completions field, but runtimes behind a worker read it first when present.
  max_completion_tokens: tokenLimit,
});

export type Kind = "chat" | "completion";

/** keccak256 of a model name, hashed once per name (only names some worker serves get this far). */
const modelIds = new Map<string, ReturnType<typeof modelId>>();
function modelIdOf(name: string): ReturnType<typeof modelId> {
  let id = modelIds.get(name);
  if (id === undefined) modelIds.set(name, (id = modelId(name)));
  return id;
}

const PASS_THROUGH_CODES = new Set(["invalid_request", "invalid_json", "upstream_rejected", "context_length_exceeded", "unsupported_parameter"]);

/** Deeper than any real request (tool schemas nest a dozen levels); far below JSON.stringify's stack. */
const MAX_JSON_DEPTH = 64;

/** Whether a parsed JSON value nests objects/arrays deeper than `max` (iterative: no recursion). */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  // Two parallel stacks rather than a [value, depth] pair per node: this runs on every request body.
  const values: unknown[] = [value];
  const depths: number[] = [0];
  while (values.length > 0) {
    const v = values.pop();
    const depth = depths.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth >= max) return true;
    if (Array.isArray(v)) {
      for (const child of v) {
        if (child !== null && typeof child === "object") {
          values.push(child);
          depths.push(depth + 1);
        }
      }
    } else {
      for (const k in v) {
        const child = (v as Record<string, unknown>)[k];
        if (child !== null && typeof child === "object") {
          values.push(child);
          depths.push(depth + 1);
        }
      }
    }
  }
  return false;
}

function describe(issues: z.core.$ZodIssue[]): string {
  const i = issues[0];
  return i ? `${i.path.join(".") || "body"}: ${i.message}` : "invalid request body";
}

const stamps = new WeakMap<FastifyRequest, { requestId: string; rid: `0x${string}`; at: number }>();

/**
 * onRequest of the inference routes: the request id and receipt id headers go on every answer,
 * including fastify's own for a body it could not parse (sized or malformed) before the handler ran.
 */
export function stampRequest(req: FastifyRequest, reply: FastifyReply): { requestId: string; rid: `0x${string}` } {
  const requestId = `req_${randomBytes(12).toString("base64url")}`;
  const stamp = { requestId, rid: receiptId(requestId), at: performance.now() };
  stamps.set(req, stamp);
  reply.header("x-request-id", requestId);
  reply.header("x-tollgate-receipt-id", stamp.rid);
  return stamp;
}

/** onSend of the inference routes: an answer the handler never saw still gets its overhead header. */
export function stampOverhead(req: FastifyRequest, reply: FastifyReply): void {
  const stamp = stamps.get(req);
  if (stamp && !reply.hasHeader("x-tollgate-overhead-ms")) reply.header("x-tollgate-overhead-ms", (performance.now() - stamp.at).toFixed(3));
}

export async function handleInference(ctx: Ctx, kind: Kind, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const t0 = performance.now();
  const { requestId, rid } = stamps.get(req) ?? stampRequest(req, reply);
  const overhead = (ms: number) => reply.header("x-tollgate-overhead-ms", ms.toFixed(3));
  const fail = (e: ApiError) => {
    overhead(performance.now() - t0);
    ctx.metrics.requests.inc({ endpoint: kind, status: String(e.status) });
    reply.code(e.status).headers(e.headers).send(e.body());
  };

  // 1. who
  const token = bearerToken(req.headers.authorization);
  if (!token) return fail(missingKey());
  const key: ApiKey | null = await ctx.keys.authenticate(token);
  if (!key) return fail(unknownKey());
  const customer = key.account.toLowerCase();

  // 2. what
  // Deeper JSON than any OpenAI request needs would overflow the stack of JSON.stringify later (the
  // token count, the upstream body) after the reservation: refuse it while nothing is held.
  if (nestedDeeperThan(req.body, MAX_JSON_DEPTH)) return fail(badRequest(`body: JSON nested more than ${MAX_JSON_DEPTH} levels deep`));
  const parsed = (kind === "chat" ? chatSchema : completionSchema).safeParse(req.body);
  if (!parsed.success) return fail(badRequest(describe(parsed.error.issues)));
  const body = parsed.data as z.infer<typeof chatSchema> & z.infer<typeof completionSchema>;
  // A list of prompts is one completion per prompt, as n > 1 would be: one prompt per request.
  if (kind === "completion" && Array.isArray(body.prompt) && body.prompt.length > 1 && typeof body.prompt[0] !== "number") {
    return fail(badRequest("prompt: send one prompt per request (a list of prompts would be one completion each; only n = 1 is supported)"));
  }
  for (const f of PROMPT_SHAPING_FIELDS) {
    if (body[f] != null) return fail(badRequest(`${f}: not supported (it would change the prompt after the gateway counted and reserved it)`, "unsupported_parameter"));
  }
  // Real runtimes return the prompt inside the completion text: it would be counted as generated
  // tokens against an honest provider (and its routing score), at the customer's whim.
  if (kind === "completion" && body.echo === true) return fail(badRequest("echo: not supported (the prompt would come back as completion text)", "unsupported_parameter"));
  const model = body.model;
  if (key.models && !key.models.includes(model)) return fail(forbidden(`this API key may not use \`${model}\``, "model_not_allowed"));
  if (!modelKnown(ctx.registry, model)) return fail(notFound(`The model \`${model}\` does not exist or no provider serves it.`, "model_not_found"));
  const tier = await ctx.tierOf(customer);
  // Counting stops once above the tier's cap (Infinity): an 8 MB prompt costs no more than a full one.
  // A long prompt is counted on the token thread, while other streams move (a short one here).
  const promptCap = tier.maxPromptTokens;
  const counted = ctx.tokens.prompt(kind, body, promptCap, Number(req.headers["content-length"] ?? Infinity), { id: customer, max: tier.concurrentRequests });
  if (counted === null) return fail(rateLimited(`at most ${tier.concurrentRequests} concurrent requests on the ${tier.name} tier`, 1, "concurrency_limit"));
  const ownPrompt = typeof counted === "number" ? counted : await counted;
  if (ownPrompt > promptCap) return fail(tooLarge(`prompt has ${Number.isFinite(ownPrompt) ? ownPrompt : `more than ${promptCap}`} tokens; the ${tier.name} tier allows ${promptCap}`));
  // Several limit fields sent: the smallest binds, whichever field the runtime reads.
  const limits = [body.max_completion_tokens, body.max_tokens, ...RUNTIME_LIMIT_FIELDS.map((f) => body[f])].filter((v): v is number => typeof v === "number");
  const maxTokens = Math.min(...limits, tier.maxOutputTokens);
  for (const f of RUNTIME_LIMIT_FIELDS) if (body[f] != null) body[f] = maxTokens;
  // A legacy completion's max_completion_tokens would reach the worker as sent (only chat's is
  // rewritten below), and workers hand it to the runtime before max_tokens: it carries the cap too.
  if (kind === "completion" && body.max_completion_tokens != null) body.max_completion_tokens = maxTokens;
  const cap: PriceCap = {};
  const capP = req.headers["x-tollgate-max-prompt-price"];
  const capC = req.headers["x-tollgate-max-completion-price"];
  if (typeof capP === "string") {
    if (!/^\d{1,15}$/.test(capP)) return fail(badRequest("x-tollgate-max-prompt-price: USDC base units per million tokens"));
    cap.prompt = BigInt(capP);
  }
  if (typeof capC === "string") {
    if (!/^\d{1,15}$/.test(capC)) return fail(badRequest("x-tollgate-max-completion-price: USDC base units per million tokens"));
    cap.completion = BigInt(capC);
  }

  let cands = eligible(ctx.registry, ctx.reads, model, cap);
  if (cands.length === 0 && (await warmMissingReads(ctx.registry, ctx.reads, model))) cands = eligible(ctx.registry, ctx.reads, model, cap);
  if (cands.length === 0) {
    // Healthy providers exist, only above the customer's own price cap: a 400 (the SDK retries a 503).
    if ((cap.prompt !== undefined || cap.completion !== undefined) && eligible(ctx.registry, ctx.reads, model, {}).length > 0) {
      return fail(badRequest(`no provider serves \`${model}\` within your price cap (x-tollgate-max-prompt-price / x-tollgate-max-completion-price); GET /v1/models lists the prices`, "price_cap_too_low"));
    }
    return fail(unavailable());
  }

  // 3. admission: the most this request can cost, at the highest eligible price
  // Images, audio, files: uncountable here, so the whole prompt allowance is reserved, the worker's
  // count is billed up to it, and the prompt count is not cross-checked.
  const opaque = kind === "chat" && hasOpaqueParts(body.messages);
  const promptReserve = promptReserveFor(ownPrompt, opaque, tier.maxPromptTokens);
  let maxPP = 0n;
  let maxCP = 0n;
  for (const c of cands) {
    if (c.price.promptPrice > maxPP) maxPP = c.price.promptPrice;
    if (c.price.completionPrice > maxCP) maxCP = c.price.completionPrice;
  }
  const reserved = chargeUnits(exactCost(BigInt(promptReserve), BigInt(maxTokens), maxPP, maxCP));
  const limit = await ctx.limiter.acquire(customer, tier, promptReserve + maxTokens);
  if (!limit.ok) return fail(rateLimited(limit.message, limit.retryAfterSec, limit.code));
  const held = await ctx.ledger.reserve(customer, reserved);
  if (!held.ok) {
    limit.release();
    return fail(
      held.reason === "debt"
        ? paymentRequired("unpaid usage from a settlement entry skipped for lack of balance blocks new requests; deposit at least the `debt` of GET /v1/account and it is charged in the next batch", "outstanding_debt")
        : paymentRequired(`balance too low for this request's maximum cost (${reserved} USDC base units); deposit more or lower max_tokens`),
    );
  }
  const dailyHold = key.dailyCap === null ? null : await ctx.dailySpend.reserve(key.id, key.dailyCap, reserved);
  if (key.dailyCap !== null && dailyHold === null) {
    await ctx.ledger.commit(customer, reserved, 0n, held.hold);
    limit.release();
    return fail(paymentRequired("this API key reached its daily spend cap", "daily_cap_reached"));
  }

  // 4. route, failing over before the first token
  const stream = body.stream === true;
  const wantUsage = body.stream_options?.include_usage === true;
  const upstreamBody: Record<string, unknown> = { ...body };
  // Every limit field the customer sent carries the capped budget: runtimes differ on which one wins.
  if (kind === "chat" && body.max_completion_tokens != null) upstreamBody.max_completion_tokens = maxTokens;
  if (body.max_tokens != null || kind !== "chat" || body.max_completion_tokens == null) upstreamBody.max_tokens = maxTokens;
  if (stream) upstreamBody.stream_options = { ...(body.stream_options ?? {}), include_usage: true };
  const payload = JSON.stringify(upstreamBody);
  const path = kind === "chat" ? "/v1/chat/completions" : "/v1/completions";

  const ac = new AbortController();
  let clientGone = false;
  let finished = false;
  reply.raw.on("close", () => {
    if (!finished) {
      clientGone = true;
      ac.abort();
    }
  });

  // A slow first token on a stream: after TOLLGATE_SSE_KEEPALIVE_MS the 200 and the SSE headers go
  // out and an SSE comment follows every interval, so proxies do not cut an idle connection. From
  // then on a failure before the first token is reported as an SSE error event.
  let streamHeadersSent = false;
  const sendStreamHeaders = () => {
    if (streamHeadersSent) return;
    streamHeadersSent = true;
    reply.hijack();
    reply.raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-request-id": requestId,
      "x-tollgate-receipt-id": rid,
      "x-tollgate-overhead-ms": ((dispatchedAt || performance.now()) - t0).toFixed(3),
    });
  };
  let keepAlive: NodeJS.Timeout | null = null;
  const stopKeepAlive = () => {
    if (keepAlive) clearInterval(keepAlive);
    keepAlive = null;
  };
  if (body.stream === true) {
    keepAlive = setInterval(() => {
      if (clientGone || finished) return stopKeepAlive();
      sendStreamHeaders();
      reply.raw.write(": keep-alive\n\n");
    }, ctx.config.sseKeepAliveMs);
  }

  const triedWorkers = new Set<string>();
  const triedProviders = new Set<string>();
  let chosen: Candidate | null = null;
  let res: UpstreamResponse | null = null;
  let clientError: ApiError | null = null;
  let dispatchedAt = 0;
  let lastCandidate: Candidate | null = null;
  for (let attempt = 0; attempt < 3 && !clientGone; attempt++) {
    if (attempt > 0) cands = eligible(ctx.registry, ctx.reads, model, cap);
    const c = pick(cands, triedProviders, triedWorkers);
    if (!c) break;
    lastCandidate = c;
    triedWorkers.add(c.w.id);
    triedProviders.add(c.w.provider);
    c.w.inFlight++;
    dispatchedAt = performance.now();
    let r: UpstreamResponse;
    try {
      r = await postUpstream(ctx.dispatcher, `${c.w.endpoint}${path}`, {
        headers: { authorization: `Bearer ${c.w.token}`, "content-type": "application/json", "x-request-id": requestId },
        body: payload,
        signal: ac.signal,
        headersTimeout: ctx.config.upstreamFirstTokenTimeoutMs,
        bodyTimeout: ctx.config.requestTimeoutMs,
      });
    } catch {
      c.w.inFlight--;
      if (clientGone) break;
      ctx.registry.recordFailure(c.w);
      ctx.sli.record(c.w.provider, { ok: false, status: 0 });
      continue;
    }
    if (r.statusCode === 200) {
      chosen = c;
      res = r;
      break;
    }
    // Not a success: read the (small) error body, decide whether to fail over.
    let errBody: { error?: { code?: unknown; message?: unknown } } | null = null;
    try {
      errBody = JSON.parse(await r.text(65_536));
    } catch {
      errBody = null;
    }
    c.w.inFlight--;
    const code = typeof errBody?.error?.code === "string" ? errBody.error.code : "";
    ctx.sli.record(c.w.provider, { ok: r.statusCode < 500, status: r.statusCode });
    if ((r.statusCode === 400 || r.statusCode === 413) && PASS_THROUGH_CODES.has(code)) {
      const message = typeof errBody?.error?.message === "string" ? errBody.error.message.slice(0, 500) : "the model refused the request";
      clientError = new ApiError(r.statusCode, "invalid_request_error", code, message);
      break;
    }
    if (r.statusCode >= 500 || r.statusCode >= 300 && r.statusCode < 400) ctx.registry.recordFailure(c.w);
    // 429, 5xx, 404 (model missing), 401 (token mismatch), 3xx (redirects are never followed): next provider.
  }

  const settleReservation = async (actual: bigint) => {
    await ctx.ledger.commit(customer, reserved, actual, held.hold);
    if (dailyHold !== null) await ctx.dailySpend.commit(key.id, reserved, actual, dailyHold);
    limit.release();
  };

  const makeReceipt = (c: Candidate, u: Usage, status: number, ttftMs: number, durationMs: number, driftValue: number | null): StoredReceipt => {
    // Billed tokens never exceed what was reserved, so a commit can never overspend.
    const promptTokens = Math.min(u.prompt, promptReserve);
    const completionTokens = status === RECEIPT_STATUS.error ? 0 : Math.min(u.completion, maxTokens);
    const p = status === RECEIPT_STATUS.error ? 0 : promptTokens;
    const cost = exactCost(BigInt(p), BigInt(completionTokens), c.price.promptPrice, c.price.completionPrice);
    return {
      id: rid,
      customer: key.account,
      provider: c.w.provider,
      worker: c.w.worker,
      model: modelIdOf(model),
      promptTokens: p,
      cachedTokens: Math.min(u.cached, p),
      completionTokens,
      reasoningTokens: Math.min(u.reasoning, completionTokens),
      promptPrice: c.price.promptPrice,
      completionPrice: c.price.completionPrice,
      cost,
      ttftMs: Math.max(0, Math.round(ttftMs)),
      durationMs: Math.max(0, Math.round(durationMs)),
      status,
      servedAt: BigInt(Math.floor(Date.now() / 1000)),
      requestId,
      modelName: model,
      keyId: key.id,
      chargeUnits: chargeUnits(cost),
      usageSource: u.source,
      drift: driftValue,
      batchId: null,
    };
  };

  if (!chosen || !res) {
    finished = true;
    stopKeepAlive();
    if (lastCandidate) {
      const zero = { prompt: 0, completion: 0, cached: 0, reasoning: 0, source: null };
      await ctx.receipts.write(makeReceipt(lastCandidate, zero, RECEIPT_STATUS.error, 0, performance.now() - t0, null)).catch((err) => ctx.log.error({ err }, "receipt write failed"));
    }
    await settleReservation(0n);
    if (clientGone) return;
    const e = clientError ?? unavailable("no provider could serve this request; try again", "upstream_unavailable");
    if (streamHeadersSent) {
      ctx.metrics.requests.inc({ endpoint: kind, status: String(e.status) });
      reply.raw.end(`data: ${JSON.stringify(e.body())}\n\n`);
      return;
    }
    return fail(e);
  }

  const c = chosen;
  const upstreamHeadersAt = performance.now();
  // More than this from a worker is not an answer to a budget of maxTokens (a token's SSE event or
  // JSON is a few hundred bytes): the relay would keep it all until the cross-check.
  const upstreamByteCap = STREAM_BYTES_BASE + maxTokens * STREAM_BYTES_PER_TOKEN;
  // The gateway's own count of generated text, which only needs to tell "within budget" from "far
  // over it": counting stops past twice the budget, so a worker's flood costs no more than that.
  const countLimit = 2 * maxTokens + 64;
  const countOwn = async (text: string): Promise<number> => ctx.tokens.completion(text, countLimit);
  const crossCheck = (u: Usage, ownCompletion: number): number => {
    const d = Math.max(opaque ? 0 : drift(u.prompt, ownPrompt), drift(u.completion, ownCompletion));
    if (d > ctx.config.driftThreshold) {
      c.w.driftPenalty = Math.min(4, c.w.driftPenalty + 0.25);
      ctx.metrics.drift.inc({ provider: c.w.provider });
      ctx.log.warn({ provider: c.w.provider, worker: c.w.worker, drift: d, requestId }, "token count drift above threshold");
    } else c.w.driftPenalty = Math.max(0, c.w.driftPenalty - 0.01);
    return d;
  };

  if (!stream) {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(await res.text(upstreamByteCap)) as Record<string, unknown>;
      if (json === null || typeof json !== "object" || Array.isArray(json)) throw new Error("not a JSON object");
    } catch {
      c.w.inFlight--;
      finished = true;
      if (!clientGone) ctx.registry.recordFailure(c.w);
      await settleReservation(0n);
      if (clientGone) return;
      return fail(unavailable("the provider returned a malformed answer", "upstream_malformed"));
    }
    c.w.inFlight--;
    const ttft = performance.now() - t0;
    ctx.registry.recordSuccess(c.w, performance.now() - dispatchedAt);
    const ownCompletion = await countOwn(chunkText(json));
    const u = readUsage(json.usage) ?? { prompt: ownPrompt, completion: ownCompletion, cached: 0, reasoning: 0, source: "gateway" };
    u.source = String(res.headers["x-tollgate-usage-source"] ?? u.source ?? "runtime");
    const d = crossCheck(u, ownCompletion);
    const receipt = makeReceipt(c, u, clientGone ? RECEIPT_STATUS.cancelled : RECEIPT_STATUS.ok, ttft, performance.now() - t0, d);
    await ctx.receipts.write(receipt);
    await settleReservation(receipt.chargeUnits);
    ctx.sli.record(c.w.provider, { ok: true, status: 200, ttftMs: ttft, totalMs: performance.now() - t0 });
    ctx.metrics.ttft.observe({ model }, ttft / 1000);
    finished = true;
    if (clientGone) return;
    const upstreamMs = upstreamHeadersAt - dispatchedAt;
    overhead(Math.max(0, performance.now() - t0 - upstreamMs));
    ctx.metrics.requests.inc({ endpoint: kind, status: "200" });
    reply.code(200).header("content-type", "application/json").send(json);
    return;
  }

  // Streamed: headers now (the worker sends its own only when the first token is ready), unless a
  // slow first token already made the keep-alive send them.
  const raw = reply.raw;
  const preDispatch = dispatchedAt - t0;
  if (!streamHeadersSent) {
    streamHeadersSent = true;
    reply.hijack();
    raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-request-id": requestId,
      "x-tollgate-receipt-id": rid,
      "x-tollgate-overhead-ms": (preDispatch + (performance.now() - upstreamHeadersAt)).toFixed(3),
    });
  }
  let ttft = -1;
  const relay = new SseRelay();
  let overflowed = false;
  // One callback per chunk, straight from undici's parser: no stream, promise or event per chunk.
  await new Promise<void>((resolve) => {
    const onChunk = (chunk: Buffer) => {
      if (ttft < 0) {
        ttft = performance.now() - t0;
        stopKeepAlive();
      }
      if (overflowed) return;
      if (relay.bytes + chunk.length > upstreamByteCap) {
        // Far more than the budget: cut the worker off; the stream ends as partial.
        overflowed = true;
        ac.abort();
        return;
      }
      const out = relay.push(chunk);
      if (out.length > 0 && !clientGone) {
        if (typeof out === "string") raw.write(out);
        else writeChunk(raw, out);
      }
    };
    res.stream(onChunk, (err) => {
      if (err) relay.upstreamError = !clientGone || overflowed;
      resolve();
    });
  });
  const rest = relay.end();
  if (rest.length > 0 && !clientGone) raw.write(rest);
  stopKeepAlive();
  c.w.inFlight--;
  const status = clientGone ? RECEIPT_STATUS.cancelled : relay.done && !relay.upstreamError ? RECEIPT_STATUS.ok : RECEIPT_STATUS.partial;
  const text = relay.text();
  const own = { prompt: ownPrompt, completion: await countOwn(text), cached: 0, reasoning: 0, source: "gateway" };
  // A cancelled stream pays for what the worker generated before the cancel reached it; the worker
  // sends no usage then, so the gateway's own count of what came through is used.
  const u: Usage = status === RECEIPT_STATUS.cancelled ? own : (relay.usage ?? own);
  const d = crossCheck(u, own.completion);
  const receipt = makeReceipt(c, u, status, ttft < 0 ? 0 : ttft, performance.now() - t0, d);
  try {
    await ctx.receipts.write(receipt);
  } catch (err) {
    ctx.log.error({ err, requestId }, "receipt write failed");
  }
  await settleReservation(receipt.chargeUnits);
  if (status === RECEIPT_STATUS.ok) ctx.registry.recordSuccess(c.w, ttft - preDispatch);
  else if (status === RECEIPT_STATUS.partial) ctx.registry.recordFailure(c.w);
  ctx.sli.record(c.w.provider, { ok: status !== RECEIPT_STATUS.partial, status: 200, ttftMs: ttft, totalMs: performance.now() - t0 });
  if (ttft >= 0) ctx.metrics.ttft.observe({ model }, ttft / 1000);
  ctx.metrics.requests.inc({ endpoint: kind, status: status === RECEIPT_STATUS.ok ? "200" : status === RECEIPT_STATUS.partial ? "partial" : "cancelled" });
  finished = true;
  if (clientGone) return;
  let tail = "";
  if (wantUsage && relay.usageLine) tail += relay.usageLine;
  if (status === RECEIPT_STATUS.ok) tail += "data: [DONE]\n\n";
  else tail += `data: ${JSON.stringify({ error: { message: "the provider failed during the response; you were charged only for tokens generated", type: "server_error", param: null, code: "upstream_failed" } })}\n\n`;
  raw.end(tail);
}
