/**
 * The worker's HTTP face towards the gateway. Admission order: registered → caller holds the
 * gateway's token → not draining → a free slot → valid body → known model. Then the request is
 * forwarded to the runtime and its outcome updates the health score.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import type { Dispatcher } from "undici";
import type { Logger } from "pino";
import { RequestError, describeZodIssue, readJsonBody, sendError, sendJson } from "../shared/http.ts";
import { chatRequestSchema, completionRequestSchema, type ChatRequest, type CompletionRequest } from "../shared/openai-requests.ts";
import { countChatExtrasTokens, countChatPromptTokens, countCompletionExtrasTokens, countCompletionPromptTokens } from "@tollgate/protocol/tokens";
import { bearerMatches } from "./auth.ts";
import { adaptRequest, upstreamPath, type Endpoint } from "./runtimes.ts";
import { forwardStream, type ForwardContext, type ForwardOutcome } from "./forward-stream.ts";
import { forwardJson } from "./forward-json.ts";
import { UsageMeter } from "./usage-meter.ts";
import type { HealthTracker } from "./health.ts";
import type { ModelSpec } from "./models.ts";
import type { WorkerConfig } from "./config.ts";

export type WorkerState = {
  token: string | null;
  draining: boolean;
  inFlight: number;
};

export type ServerDeps = {
  config: WorkerConfig;
  state: WorkerState;
  health: HealthTracker;
  dispatcher: Dispatcher;
  log: Logger;
  /** Called whenever inFlight drops, so drain() can notice the last request finishing. */
  onIdle: () => void;
};

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function createWorkerServer(deps: ServerDeps): Server {
  const { config, state, health, log } = deps;
  const models = new Map<string, ModelSpec>(config.models.map((m) => [m.name, m]));

  async function generate(endpoint: Endpoint, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (state.token === null) return sendError(res, 503, "worker is not registered with a gateway yet", "server_error", "not_registered");
    if (!bearerMatches(req.headers.authorization, state.token)) {
      return sendError(res, 401, "invalid or missing worker token", "authentication_error", "invalid_worker_token", { "www-authenticate": "Bearer" });
    }
    if (state.draining) return sendError(res, 503, "worker is draining; send new requests elsewhere", "server_error", "draining");
    if (state.inFlight >= config.maxConcurrency) {
      return sendError(res, 429, "worker is at its maximum concurrency", "rate_limit_error", "worker_busy", { "retry-after": "1" });
    }
    state.inFlight++;
    const started = performance.now();
    const header = req.headers["x-request-id"];
    const requestId = typeof header === "string" && REQUEST_ID.test(header) ? header : randomBytes(8).toString("hex");
    let outcome: ForwardOutcome | null = null;
    let stream = false;
    let modelName = "";
    try {
      const raw = await readJsonBody(req, config.maxBodyBytes);
      const parsed = endpoint === "chat" ? chatRequestSchema.safeParse(raw) : completionRequestSchema.safeParse(raw);
      if (!parsed.success) return sendError(res, 400, describeZodIssue(parsed.error.issues), "invalid_request_error", "invalid_request");
      const body = parsed.data;
      const model = models.get(body.model);
      if (!model) return sendError(res, 404, `this worker does not serve model ${body.model}`, "not_found_error", "model_not_found");
      modelName = model.name;
      stream = body.stream === true;
      const promptTokens = () =>
        endpoint === "chat"
          ? countChatPromptTokens((body as ChatRequest).messages) + countChatExtrasTokens(body as ChatRequest)
          : countCompletionPromptTokens((body as CompletionRequest).prompt) + countCompletionExtrasTokens(body as CompletionRequest);
      const ctx: ForwardContext = {
        res,
        endpoint,
        url: config.upstream + upstreamPath(endpoint),
        upstreamBody: adaptRequest(config.runtime, body, model.upstreamName),
        dispatcher: deps.dispatcher,
        publicModel: model.name,
        meter: new UsageMeter(promptTokens),
        timeouts: { firstTokenMs: config.firstTokenTimeoutMs, idleMs: config.idleTimeoutMs, requestMs: config.requestTimeoutMs },
        fallbackId: `${endpoint === "chat" ? "chatcmpl" : "cmpl"}-${requestId}`,
      };
      outcome = stream ? await forwardStream(ctx) : await forwardJson(ctx);
    } catch (err) {
      if (err instanceof RequestError) return sendError(res, err.status, err.message, "invalid_request_error", err.code);
      log.error({ requestId, err: (err as Error).message }, "request failed inside the worker");
      sendError(res, 500, "worker internal error", "server_error", "worker_error");
    } finally {
      state.inFlight--;
      deps.onIdle();
      if (outcome) {
        if (outcome.kind === "ok") health.success();
        else if (outcome.kind === "failed" && outcome.error?.unhealthy) health.failure();
        // Counts and timings only: never prompts, outputs or tokens of any kind.
        log.info(
          {
            requestId,
            model: modelName,
            stream,
            outcome: outcome.kind,
            code: outcome.error?.code,
            ttftMs: outcome.ttftMs === undefined ? undefined : Math.round(outcome.ttftMs),
            durationMs: Math.round(performance.now() - started),
            promptTokens: outcome.usage?.prompt_tokens,
            completionTokens: outcome.usage?.completion_tokens,
            usageSource: outcome.source,
          },
          "request",
        );
      }
    }
  }

  function listModels(res: ServerResponse): void {
    sendJson(res, 200, {
      object: "list",
      data: config.models.map((m) => ({ id: m.name, object: "model", created: 0, owned_by: config.provider })),
    });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/health") {
      return sendJson(res, 200, {
        status: state.draining ? "draining" : "ok",
        registered: state.token !== null,
        inFlight: state.inFlight,
        maxConcurrency: config.maxConcurrency,
        upstreamOk: health.snapshot().upstreamOk,
      });
    }
    if (path === "/v1/models" && req.method === "GET") {
      if (!bearerMatches(req.headers.authorization, state.token)) {
        return sendError(res, 401, "invalid or missing worker token", "authentication_error", "invalid_worker_token");
      }
      return listModels(res);
    }
    const endpoint = path === "/v1/chat/completions" ? "chat" : path === "/v1/completions" ? "completion" : null;
    if (!endpoint) return sendError(res, 404, "not found", "not_found_error", "not_found");
    if (req.method !== "POST") return sendError(res, 405, "use POST", "invalid_request_error", "method_not_allowed");
    return generate(endpoint, req, res);
  }

  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
    res.on("error", () => {}); // a write to a vanished gateway connection must not crash the agent
    route(req, res).catch((err: unknown) => {
      log.error({ err: (err as Error).message }, "unexpected error in request handler");
      sendError(res, 500, "worker internal error", "server_error", "worker_error");
    });
  });
  server.on("clientError", (_err, socket) => socket.destroy());
  return server;
}
