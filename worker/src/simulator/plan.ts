/**
 * Decides everything about one simulated request up front: its text (from the seed), its token
 * counts, its timing and its fault. The jobs that write the response only replay the plan.
 */
import { countChatExtrasTokens, countChatPromptTokens, countCompletionExtrasTokens, countCompletionPromptTokens } from "@tollgate/protocol/tokens";
import type { ChatRequest, CompletionRequest } from "../shared/openai-requests.ts";
import { requestedMaxTokens } from "../shared/openai-requests.ts";
import { hashString, logNormal, mulberry32, randInt } from "./rng.ts";
import { generateTokens, type Entry } from "./vocab.ts";
import type { ResolvedSimulatorOptions, SimulatedModel } from "./options.ts";
import { RequestError } from "../shared/http.ts";

export type Fault =
  | { kind: "none" }
  | { kind: "error"; status: 500 | 503 }
  | { kind: "hang" }
  | { kind: "crash"; afterTokens: number };

export type Plan = {
  seed: number;
  promptTokens: number;
  tokens: Entry[];
  finishReason: "stop" | "length";
  ttftMs: number;
  msPerToken: number;
  fault: Fault;
};


export type PlanInput =
  | { kind: "chat"; body: ChatRequest }
  | { kind: "completion"; body: CompletionRequest };

export function planRequest(input: PlanInput, model: SimulatedModel, opts: ResolvedSimulatorOptions, faultRand: () => number): Plan {
  const body = input.body;
  if ((body.n ?? 1) > 1) throw new RequestError(400, "unsupported_parameter", "the simulator supports only n = 1");
  const promptTokens =
    input.kind === "chat" ? countChatPromptTokens(input.body.messages) + countChatExtrasTokens(input.body) : countCompletionPromptTokens(input.body.prompt) + countCompletionExtrasTokens(input.body);
  const promptKey = input.kind === "chat" ? JSON.stringify(input.body.messages) : JSON.stringify(input.body.prompt);
  const seed = body.seed ?? hashString(promptKey);

  const ctx = model.contextLength;
  const maxTokens = requestedMaxTokens(body);
  if (promptTokens + (maxTokens ?? 1) > ctx) {
    // Same wording and 400 as vLLM, so callers see what a real runtime would tell them.
    throw new RequestError(
      400,
      "context_length_exceeded",
      `This model's maximum context length is ${ctx} tokens. However, you requested ${promptTokens + (maxTokens ?? 0)} tokens (${promptTokens} in the messages, ${maxTokens ?? 0} in the completion). Please reduce the length of the messages or completion.`,
    );
  }

  const textRand = mulberry32(seed);
  const natural = randInt(textRand, opts.minCompletionTokens, opts.maxCompletionTokens);
  const ignoreEos = (body as { ignore_eos?: unknown }).ignore_eos === true;
  const limit = Math.min(maxTokens ?? Number.POSITIVE_INFINITY, ctx - promptTokens);
  const count = ignoreEos && maxTokens !== undefined ? limit : Math.min(natural, limit);
  const finishReason = count < natural || (ignoreEos && maxTokens !== undefined) ? "length" : "stop";
  const tokens = generateTokens(textRand, count, input.kind === "chat");

  return {
    seed,
    promptTokens,
    tokens,
    finishReason,
    ttftMs: logNormal(faultRand, opts.ttftMs, opts.ttftSigma),
    msPerToken: 1000 / opts.tokensPerSecond,
    fault: sampleFault(faultRand, opts, count),
  };
}

function sampleFault(rand: () => number, opts: ResolvedSimulatorOptions, count: number): Fault {
  const r = rand();
  if (r < opts.errorRate) return { kind: "error", status: rand() < 0.5 ? 500 : 503 };
  if (r < opts.errorRate + opts.hangRate) return { kind: "hang" };
  if (r < opts.errorRate + opts.hangRate + opts.crashRate) {
    return { kind: "crash", afterTokens: randInt(rand, 1, Math.max(1, count - 1)) };
  }
  return { kind: "none" };
}
