/**
 * The gateway's own token counts, kept off the event loop when the text is long.
 *
 * Counting costs CPU in proportion to the text: 0.1–0.8 ms for 4,000 characters, 15–100 ms for a
 * 130,000-token prompt (a Business tier's cap) depending on how much of it the tokenizer's cache
 * already knows. Counted on the event loop, one such prompt holds every other stream of the
 * gateway for that long: any customer could stall everyone's tokens. Short texts, nearly every
 * request, are counted inline, where a thread hop would cost more than the count; longer ones on a
 * worker thread (`token-thread.ts`), in order.
 */
import { JobThread } from "../shared/job-thread.ts";
import { countChatExtrasTokens, countChatPromptTokens, countCompletionExtrasTokens, countCompletionPromptTokens, countTextTokens, type ChatMessageLike } from "@tollgate/protocol/tokens";

export type PromptBody = { readonly [field: string]: unknown; messages?: readonly ChatMessageLike[]; prompt?: unknown };

/** Prompt tokens of a request (messages or prompt, and the extras the runtime renders into it); above `cap`, Infinity. */
export function countPrompt(kind: "chat" | "completion", body: PromptBody, cap: number): number {
  const main = kind === "chat" ? countChatPromptTokens(body.messages ?? [], cap) : countCompletionPromptTokens(body.prompt, cap);
  if (main > cap) return Infinity;
  return main + (kind === "chat" ? countChatExtrasTokens(body, cap - main) : countCompletionExtrasTokens(body, cap - main));
}

/** Tokens of generated text, counted only up to `limit` (above it: limit + 1). */
export function countCompletion(text: string, limit: number): number {
  return Math.min(countTextTokens(text, limit), limit + 1);
}

export type CountJob = { op: "prompt"; kind: "chat" | "completion"; body: PromptBody; cap: number } | { op: "completion"; text: string; limit: number };

export function runCountJob(job: CountJob): number {
  return job.op === "prompt" ? countPrompt(job.kind, job.body, job.cap) : countCompletion(job.text, job.limit);
}

/**
 * Texts up to this many bytes are counted inline: at most ~1.5 ms of uncached text, against the
 * 0.05–0.2 ms a hop to the thread and back costs when the thread has nothing else to do.
 */
export const INLINE_MAX_BYTES = 8 * 1024;
/**
 * Jobs waiting for the thread beyond this are counted inline instead. The thread lets the gateway
 * keep reading requests while it counts; past this backlog (a flood of long prompts) the gateway
 * returns to counting on the event loop, which slows its intake as it always did, instead of
 * holding an unbounded queue of request bodies in memory.
 */
export const MAX_BACKLOG = 32;

export class TokenCounter {
  private readonly thread = new JobThread<CountJob, number>(new URL("./token-thread.ts", import.meta.url), runCountJob);
  /** Long prompts of each owner (an account) on the thread now. */
  private readonly owners = new Map<string, number>();

  /** Jobs sent to the thread since start. */
  get offloaded(): number {
    return this.thread.sent;
  }

  /**
   * Prompt tokens of a request whose body is `bytes` long; above `cap`, Infinity. null when the
   * prompt is long and its owner already has `owner.max` long prompts being counted: one account
   * cannot fill the thread's queue and delay everyone else's (the caller refuses it, as it would
   * refuse one concurrent request too many).
   */
  prompt(kind: "chat" | "completion", body: PromptBody, cap: number, bytes: number, owner?: { id: string; max: number }): number | Promise<number> | null {
    const job: CountJob = { op: "prompt", kind, body, cap };
    if (!this.offload(bytes)) return runCountJob(job);
    if (!owner) return this.thread.run(job);
    const held = this.owners.get(owner.id) ?? 0;
    if (held >= owner.max) return null;
    this.owners.set(owner.id, held + 1);
    return this.thread.run(job).finally(() => {
      const n = (this.owners.get(owner.id) ?? 1) - 1;
      if (n <= 0) this.owners.delete(owner.id);
      else this.owners.set(owner.id, n);
    });
  }

  /** Tokens of a generated text, counted only up to `limit` (above it: limit + 1). */
  completion(text: string, limit: number): number | Promise<number> {
    const job: CountJob = { op: "completion", text, limit };
    return this.offload(text.length) ? this.thread.run(job) : runCountJob(job);
  }

  close(): Promise<void> {
    return this.thread.close();
  }

  private offload(bytes: number): boolean {
    return bytes > INLINE_MAX_BYTES && this.thread.backlog < MAX_BACKLOG;
  }
}
