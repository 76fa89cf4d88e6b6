/**
 * The gateway's own token counts, kept off the event loop when the text is long.
 *
 * Counting costs CPU in proportion to the text, and far more for text the tokenizer's cache has not
 * seen (a new document, or an attacker's made-up words): about 2.5–4 µs a character then, against
 * 0.03–0.1 µs for common English. Counted on the event loop, a Business-sized prompt of such text
 * held every other stream of the gateway for 2–3.5 s: any customer could stall everyone's tokens.
 * Short texts are counted inline, where a thread hop would cost more than the count; longer ones on
 * a worker thread (`token-thread.ts`), in order.
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
 * Bodies and texts up to this many bytes are counted inline: up to about 6 ms of the event loop for
 * text the cache has not seen (8 KiB took up to 23 ms), under 0.3 ms for common English, against
 * the 0.05–0.2 ms a hop to the thread and back costs when the thread has nothing else to do.
 */
export const INLINE_MAX_BYTES = 2 * 1024;
/**
 * Jobs waiting for the thread beyond this are counted inline instead. The thread lets the gateway
 * keep reading requests while it counts; past this backlog (a flood of long prompts) the gateway
 * returns to counting on the event loop, which slows its intake as it always did, instead of
 * holding an unbounded queue of request bodies in memory.
 */
export const MAX_BACKLOG = 32;

export class TokenCounter {
  // Two threads: a finished stream's count (before its [DONE]) never waits behind long prompts.
  private readonly prompts = new JobThread<CountJob, number>(new URL("./token-thread.ts", import.meta.url), runCountJob);
  private readonly completions = new JobThread<CountJob, number>(new URL("./token-thread.ts", import.meta.url), runCountJob);
  /** Long prompts of each owner (an account) on the thread now. */
  private readonly owners = new Map<string, number>();

  /** Jobs sent to the threads since start. */
  get offloaded(): number {
    return this.prompts.sent + this.completions.sent;
  }

  /**
   * Prompt tokens of a request whose body is `bytes` long; above `cap`, Infinity. null when the
   * prompt is long and its owner already has `owner.max` long prompts being counted: one account
   * cannot fill the thread's queue and delay everyone else's (the caller refuses it, as it would
   * refuse one concurrent request too many).
   */
  prompt(kind: "chat" | "completion", body: PromptBody, cap: number, bytes: number, owner?: { id: string; max: number }): number | Promise<number> | null {
    const job: CountJob = { op: "prompt", kind, body, cap };
    if (!offload(this.prompts, bytes)) return runCountJob(job);
    if (!owner) return this.prompts.run(job);
    const held = this.owners.get(owner.id) ?? 0;
    if (held >= owner.max) return null;
    this.owners.set(owner.id, held + 1);
    return this.prompts.run(job).finally(() => {
      const n = (this.owners.get(owner.id) ?? 1) - 1;
      if (n <= 0) this.owners.delete(owner.id);
      else this.owners.set(owner.id, n);
    });
  }

  /** Tokens of a generated text, counted only up to `limit` (above it: limit + 1). */
  completion(text: string, limit: number): number | Promise<number> {
    const job: CountJob = { op: "completion", text, limit };
    return offload(this.completions, text.length) ? this.completions.run(job) : runCountJob(job);
  }

  async close(): Promise<void> {
    await Promise.all([this.prompts.close(), this.completions.close()]);
  }
}

function offload(thread: JobThread<CountJob, number>, bytes: number): boolean {
  return bytes > INLINE_MAX_BYTES && thread.backlog < MAX_BACKLOG;
}
