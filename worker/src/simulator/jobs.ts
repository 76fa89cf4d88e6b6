/**
 * Response writers driven by the shared pacer. Chunk JSON is assembled from precomputed string
 * pieces (per-request prefix/suffix, per-token JSON) so a token costs a concatenation, not a
 * JSON.stringify of a chunk object.
 */
import type { ServerResponse } from "node:http";
import { openAIError } from "../shared/errors.ts";
import type { PacedJob } from "./pacer.ts";
import type { Plan } from "./plan.ts";

export const FINGERPRINT = "tollgate-simulator";

export type JobContext = {
  res: ServerResponse;
  plan: Plan;
  kind: "chat" | "completion";
  id: string;
  created: number;
  model: string;
  acceptedAt: number;
  onTokens: (n: number) => void;
  /** Called with performance.now() just before the first token is written (streams only). */
  onFirstToken?: ((at: number) => void) | undefined;
};

function usageOf(plan: Plan, completionTokens: number) {
  return {
    prompt_tokens: plan.promptTokens,
    completion_tokens: completionTokens,
    total_tokens: plan.promptTokens + completionTokens,
  };
}

/** A streamed reply: role chunk, one chunk per token, finish chunk, optional usage chunk, [DONE]. */
export class StreamJob implements PacedJob {
  wakeAt: number;
  private readonly c: JobContext;
  private readonly includeUsage: boolean;
  private readonly startAt: number;
  private readonly head: string;
  private readonly prefix: string;
  private readonly suffix: string;
  private sent = 0;

  constructor(c: JobContext, includeUsage: boolean) {
    this.c = c;
    this.includeUsage = includeUsage;
    this.startAt = c.acceptedAt + c.plan.ttftMs;
    this.wakeAt = this.startAt;
    const object = c.kind === "chat" ? "chat.completion.chunk" : "text_completion";
    this.head = `{"id":"${c.id}","object":"${object}","created":${c.created},"model":${JSON.stringify(c.model)},"system_fingerprint":"${FINGERPRINT}","choices":[`;
    this.prefix = c.kind === "chat" ? `data: ${this.head}{"index":0,"delta":{"content":` : `data: ${this.head}{"index":0,"text":`;
    this.suffix = c.kind === "chat" ? `},"logprobs":null,"finish_reason":null}]}\n\n` : `,"logprobs":null,"finish_reason":null}]}\n\n`;
  }

  step(now: number): boolean {
    const { res, plan } = this.c;
    if (res.destroyed) return true;
    const total = plan.tokens.length;
    let due = Math.min(total, Math.floor((now - this.startAt) / plan.msPerToken) + 1);
    const crashAt = plan.fault.kind === "crash" ? plan.fault.afterTokens : Number.POSITIVE_INFINITY;
    due = Math.min(due, crashAt);

    let out = "";
    if (this.sent === 0 && this.c.kind === "chat") {
      out += `data: ${this.head}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`;
    }
    for (let i = this.sent; i < due; i++) out += this.prefix + plan.tokens[i]!.json + this.suffix;
    if (this.sent === 0 && due > 0) this.c.onFirstToken?.(performance.now());
    this.c.onTokens(due - this.sent);
    this.sent = due;

    if (this.sent >= crashAt) {
      // Simulated GPU process death: the bytes so far reach the client, then the socket dies.
      res.write(out, () => res.socket?.destroy());
      return true;
    }
    if (this.sent >= total) {
      const finish = this.c.kind === "chat" ? `"delta":{}` : `"text":""`;
      out += `data: ${this.head}{"index":0,${finish},"logprobs":null,"finish_reason":"${plan.finishReason}"}]}\n\n`;
      if (this.includeUsage) out += `data: ${this.head}],"usage":${JSON.stringify(usageOf(plan, total))}}\n\n`;
      out += "data: [DONE]\n\n";
      res.end(out);
      return true;
    }
    if (out.length > 0) res.write(out);
    this.wakeAt = this.startAt + this.sent * plan.msPerToken;
    return false;
  }
}

/** A non-streamed reply, sent whole when its last token would have been generated. */
export class JsonJob implements PacedJob {
  wakeAt: number;
  private readonly c: JobContext;

  constructor(c: JobContext) {
    this.c = c;
    this.wakeAt = c.acceptedAt + c.plan.ttftMs + Math.max(0, c.plan.tokens.length - 1) * c.plan.msPerToken;
  }

  step(): boolean {
    const { res, plan } = this.c;
    if (res.destroyed) return true;
    if (plan.fault.kind === "crash") {
      res.socket?.destroy();
      return true;
    }
    const text = plan.tokens.map((t) => t.text).join("");
    const choice =
      this.c.kind === "chat"
        ? { index: 0, message: { role: "assistant", content: text }, logprobs: null, finish_reason: plan.finishReason }
        : { index: 0, text, logprobs: null, finish_reason: plan.finishReason };
    const body = JSON.stringify({
      id: this.c.id,
      object: this.c.kind === "chat" ? "chat.completion" : "text_completion",
      created: this.c.created,
      model: this.c.model,
      system_fingerprint: FINGERPRINT,
      choices: [choice],
      usage: usageOf(plan, plan.tokens.length),
    });
    this.c.onTokens(plan.tokens.length);
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body).toString() });
    res.end(body);
    return true;
  }
}

/** An injected failure before the first token: 500 or 503 with an OpenAI-style body. */
export class ErrorJob implements PacedJob {
  wakeAt: number;
  private readonly res: ServerResponse;
  private readonly status: number;

  constructor(res: ServerResponse, acceptedAt: number, ttftMs: number, status: number) {
    this.res = res;
    this.status = status;
    this.wakeAt = acceptedAt + ttftMs;
  }

  step(): boolean {
    if (this.res.destroyed || this.res.headersSent) return true;
    const body = JSON.stringify(
      openAIError(
        this.status === 503 ? "simulated overload: try again later" : "simulated internal error",
        "server_error",
        this.status === 503 ? "simulated_overload" : "simulated_error",
      ),
    );
    this.res.writeHead(this.status, { "content-type": "application/json", "content-length": Buffer.byteLength(body).toString() });
    this.res.end(body);
    return true;
  }
}
