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
import { Worker } from "node:worker_threads";
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
export type CountRequest = CountJob & { id: number };
export type CountReply = { id: number; n: number } | { id: number; error: string };

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

type Pending = { job: CountJob; owner: string | undefined; resolve: (n: number) => void; reject: (e: Error) => void };

function settleInline(p: Pending): void {
  try {
    p.resolve(runCountJob(p.job));
  } catch (err) {
    p.reject(err as Error);
  }
}

export class TokenCounter {
  private thread: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  /** Long texts of each owner (an account) on the thread now. */
  private readonly owners = new Map<string, number>();
  private nextId = 1;
  /** Jobs sent to the thread since start (for /metrics and tests). */
  offloaded = 0;

  /**
   * Prompt tokens of a request whose body is `bytes` long; above `cap`, Infinity. null when the
   * prompt is long and its owner already has `owner.max` long prompts being counted: one account
   * cannot fill the thread's queue and delay everyone else's (the caller refuses it, as it would
   * refuse one concurrent request too many).
   */
  prompt(kind: "chat" | "completion", body: PromptBody, cap: number, bytes: number, owner?: { id: string; max: number }): number | Promise<number> | null {
    if (owner && bytes > INLINE_MAX_BYTES && (this.owners.get(owner.id) ?? 0) >= owner.max) return null;
    return this.count({ op: "prompt", kind, body, cap }, bytes, owner?.id);
  }

  /** Tokens of a generated text, counted only up to `limit` (above it: limit + 1). */
  completion(text: string, limit: number): number | Promise<number> {
    return this.count({ op: "completion", text, limit }, text.length);
  }

  private count(job: CountJob, bytes: number, owner?: string): number | Promise<number> {
    if (bytes <= INLINE_MAX_BYTES || this.pending.size >= MAX_BACKLOG) return runCountJob(job);
    const thread = this.start();
    const id = this.nextId++;
    this.offloaded++;
    if (owner !== undefined) this.owners.set(owner, (this.owners.get(owner) ?? 0) + 1);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { job, owner, resolve, reject });
      thread.ref();
      thread.postMessage({ ...job, id } satisfies CountRequest);
    });
  }

  /** Takes a job off the books; its promise is settled by the caller. */
  private take(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    if (p.owner !== undefined) {
      const n = (this.owners.get(p.owner) ?? 1) - 1;
      if (n <= 0) this.owners.delete(p.owner);
      else this.owners.set(p.owner, n);
    }
    return p;
  }

  private start(): Worker {
    if (this.thread) return this.thread;
    const thread = new Worker(new URL("./token-thread.ts", import.meta.url));
    thread.unref();
    thread.on("message", (m: CountReply) => {
      const p = this.take(m.id);
      if (this.pending.size === 0) thread.unref();
      if (!p) return;
      // A job the thread could not count is counted here, where the same error reaches the caller.
      if ("error" in m) settleInline(p);
      else p.resolve(m.n);
    });
    // A thread that dies loses nothing: what it held is counted inline, and the next long text
    // starts a new thread.
    const die = () => {
      if (this.thread === thread) this.thread = null;
      for (const id of [...this.pending.keys()]) settleInline(this.take(id)!);
    };
    thread.on("error", die);
    thread.on("exit", die);
    this.thread = thread;
    return thread;
  }

  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = null;
    if (thread) await thread.terminate();
  }
}
