/**
 * A worker thread for one kind of CPU-heavy job (counting a long prompt, building a batch's
 * receipts tree), so the event loop that relays every stream only posts messages. The thread
 * starts on the first job and does not keep the process alive while idle; jobs are answered in
 * order. A thread that dies, or fails a job, loses nothing: the job is run inline instead, where
 * an error reaches the caller, and the next job starts a new thread.
 *
 * The thread's module calls `serveJobs` with the same function the caller gives as `inline`.
 */
import { parentPort, Worker, workerData } from "node:worker_threads";
import { lowerThisThreadPriority } from "./thread-priority.ts";

/**
 * The threads' nice value on Linux: a long count or a batch's tree waits for the event loop that
 * relays tokens, not the other way round (the PGlite thread's default, for the same reason).
 */
const JOB_THREAD_NICE = 10;

type Request<Job> = { id: number; job: Job };
type Reply<Result> = { id: number; result: Result } | { id: number; error: string };
type Pending<Job, Result> = { job: Job; thread: Worker; resolve: (r: Result) => void; reject: (e: Error) => void };

export class JobThread<Job, Result> {
  private thread: Worker | null = null;
  private readonly pending = new Map<number, Pending<Job, Result>>();
  private nextId = 1;
  private readonly url: URL;
  private readonly inline: (job: Job) => Result | Promise<Result>;
  /** Jobs sent to a thread since start. */
  sent = 0;
  /** Of those, jobs run inline after all, because their thread failed them or died. */
  inlined = 0;

  constructor(url: URL, inline: (job: Job) => Result | Promise<Result>) {
    this.url = url;
    this.inline = inline;
  }

  /** Jobs posted and not answered yet. */
  get backlog(): number {
    return this.pending.size;
  }

  run(job: Job): Promise<Result> {
    const thread = this.start();
    const id = this.nextId++;
    this.sent++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { job, thread, resolve, reject });
      thread.ref();
      try {
        thread.postMessage({ id, job } satisfies Request<Job>);
      } catch {
        this.runInline(this.take(id)!); // a job that cannot be copied to the thread
      }
    });
  }

  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = null;
    if (thread) await thread.terminate();
  }

  private start(): Worker {
    if (this.thread) return this.thread;
    const thread = new Worker(this.url, { workerData: { nice: JOB_THREAD_NICE } });
    thread.unref();
    thread.on("message", (m: Reply<Result>) => {
      const p = this.take(m.id);
      if (!p) return;
      if ("error" in m) this.runInline(p);
      else p.resolve(m.result);
    });
    // "error" and "exit" may both come, the second after a new thread took over: each time only
    // this thread's jobs are run inline.
    const die = () => {
      if (this.thread === thread) this.thread = null;
      for (const [id, p] of [...this.pending]) if (p.thread === thread) this.runInline(this.take(id)!);
    };
    thread.on("error", die);
    thread.on("exit", die);
    this.thread = thread;
    return thread;
  }

  private take(id: number): Pending<Job, Result> | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (this.pending.size === 0) this.thread?.unref();
    return p;
  }

  private runInline(p: Pending<Job, Result>): void {
    this.inlined++;
    try {
      Promise.resolve(this.inline(p.job)).then(p.resolve, p.reject);
    } catch (err) {
      p.reject(err as Error);
    }
  }
}

/** The thread's side: answers each posted job with `run(job)`, in order. */
export function serveJobs<Job, Result>(run: (job: Job) => Result): void {
  lowerThisThreadPriority((workerData as { nice: number }).nice);
  const port = parentPort!;
  port.on("message", (m: Request<Job>) => {
    let reply: Reply<Result>;
    try {
      reply = { id: m.id, result: run(m.job) };
    } catch (err) {
      reply = { id: m.id, error: String((err as Error)?.message ?? err) };
    }
    port.postMessage(reply);
  });
}
