/**
 * The simulated GPU runtime: an OpenAI-compatible HTTP server (node:http, no framework) that
 * produces deterministic filler text at a configurable pace, with injectable faults. It is a
 * simulator — it runs no model — and says so in every /v1/models entry and response fingerprint.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { chatRequestSchema, completionRequestSchema } from "../shared/openai-requests.ts";
import { RequestError, describeZodIssue, readJsonBody, sendError, sendJson } from "../shared/http.ts";
import { mulberry32 } from "./rng.ts";
import { vocab } from "./vocab.ts";
import { Pacer } from "./pacer.ts";
import { planRequest, type PlanInput } from "./plan.ts";
import { ErrorJob, FINGERPRINT, JsonJob, StreamJob } from "./jobs.ts";
import { simulatorOptionsSchema, type ResolvedSimulatorOptions, type SimulatorOptions } from "./options.ts";

export type SimulatorStats = { activeJobs: number; requests: number; tokensSent: number; openConnections: number };

/**
 * Called for each stream just before its first token is written, with the request body and the
 * times (performance.now()) at which the request was accepted and the token left. A benchmark
 * subtracts the simulated generation time this spans from the client's time to first token, so
 * what is left is the time spent outside the model: in the hops in front of it.
 */
export type FirstTokenObserver = (body: unknown, acceptedAt: number, firstTokenAt: number) => void;

export type SimulatorHandle = {
  /** Base URL including /v1, e.g. http://127.0.0.1:8000/v1 */
  url: string;
  port: number;
  options: ResolvedSimulatorOptions;
  stats(): SimulatorStats;
  close(): Promise<void>;
};

export async function startSimulator(input: SimulatorOptions = {}, observe: { firstToken?: FirstTokenObserver } = {}): Promise<SimulatorHandle> {
  const opts = simulatorOptionsSchema.parse(input);
  vocab(); // build the token table before the first request, not during it
  const pacer = new Pacer(opts.tickMs);
  const faultRand = opts.faultSeed === undefined ? Math.random : mulberry32(opts.faultSeed);
  const models = new Map(opts.models.map((m) => [m.name, m]));
  const created = Math.floor(Date.now() / 1000);
  const idBase = randomBytes(4).toString("hex");
  let counter = 0;
  let requests = 0;
  let tokensSent = 0;
  let openConnections = 0;
  const onTokens = (n: number) => {
    tokensSent += n;
  };

  function handleGeneration(kind: "chat" | "completion", body: unknown, res: ServerResponse): void {
    const parsed = kind === "chat" ? chatRequestSchema.safeParse(body) : completionRequestSchema.safeParse(body);
    if (!parsed.success) return sendError(res, 400, describeZodIssue(parsed.error.issues), "invalid_request_error", "invalid_request");
    const model = models.get(parsed.data.model);
    if (!model) return sendError(res, 404, `The model \`${parsed.data.model}\` does not exist.`, "not_found_error", "model_not_found");
    const input = { kind, body: parsed.data } as PlanInput;
    const plan = planRequest(input, model, opts, faultRand);
    requests++;
    const acceptedAt = performance.now();
    if (plan.fault.kind === "hang") return; // accepted, never answered; the client or close() ends it
    if (plan.fault.kind === "error") return pacer.add(new ErrorJob(res, acceptedAt, plan.ttftMs, plan.fault.status));

    counter++;
    const ctx = {
      res,
      plan,
      kind,
      id: `${kind === "chat" ? "chatcmpl" : "cmpl"}-sim${idBase}${counter.toString(36)}`,
      created,
      model: model.name,
      acceptedAt,
      onTokens,
      onFirstToken: observe.firstToken && ((at: number) => observe.firstToken!(body, acceptedAt, at)),
    };
    if (parsed.data.stream) {
      // Like vLLM: headers go out at once, tokens follow after the time to first token.
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "x-tollgate-simulator": "1" });
      res.flushHeaders();
      pacer.add(new StreamJob(ctx, parsed.data.stream_options?.include_usage === true));
    } else {
      pacer.add(new JsonJob(ctx));
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/health") return sendJson(res, 200, { status: "ok", simulator: true });
    if (req.method === "GET" && path === "/v1/models") {
      return sendJson(res, 200, {
        object: "list",
        data: opts.models.map((m) => ({
          id: m.name,
          object: "model",
          created,
          owned_by: FINGERPRINT,
          max_model_len: m.contextLength,
          context_length: m.contextLength,
        })),
      });
    }
    if (req.method === "GET" && path === "/simulator/stats") return sendJson(res, 200, stats());
    const kind = path === "/v1/chat/completions" ? "chat" : path === "/v1/completions" ? "completion" : null;
    if (!kind) return sendError(res, 404, `no route for ${req.method} ${path}`, "not_found_error", "not_found");
    if (req.method !== "POST") return sendError(res, 405, "use POST", "invalid_request_error", "method_not_allowed");
    const body = await readJsonBody(req, opts.maxBodyBytes);
    handleGeneration(kind, body, res);
  }

  function stats(): SimulatorStats {
    return { activeJobs: pacer.size, requests, tokensSent, openConnections };
  }

  const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    res.on("error", () => {}); // a client that vanished mid-write must not take the simulator down
    handle(req, res).catch((err: unknown) => {
      if (err instanceof RequestError) {
        return sendError(res, err.status, err.message, "invalid_request_error", err.code);
      }
      if (err instanceof z.ZodError) return sendError(res, 400, describeZodIssue(err.issues), "invalid_request_error");
      sendError(res, 500, "simulator internal error", "server_error");
    });
  });
  server.on("connection", (socket) => {
    openConnections++;
    socket.on("close", () => openConnections--);
  });
  server.on("clientError", (_err, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    // Node's default backlog (511) overflows when a load test opens thousands of connections at
    // once, and the dropped SYNs come back 1-7 s later as fake TTFT; the kernel caps this at somaxconn.
    server.listen({ port: opts.port, host: opts.host, backlog: 4096 }, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;

  return {
    url: `http://${host}:${port}/v1`,
    port,
    options: opts,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        pacer.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
